defmodule Mix.Tasks.Compile.Resin do
  @moduledoc """
  Builds resin, lacca's sandboxing helper, and installs it in lacca's `priv/`.

  lacca runs every command through `resin`, a C++ executable built from the repository that contains
  lacca (its root holds `CMakeLists.txt`). This compiler, listed first in `compilers:` in `mix.exs`,
  makes `mix compile` produce:

    * `priv/resin` — the executable;
    * `priv/config/*.json` — the shipped profiles (`default`, `build`, …), where resin looks for a
      profile named in `"extends"` (`<directory of resin>/config`).

  It configures a CMake build directory once (`_build/resin-cmake`, shared by all Mix environments)
  and afterwards only runs `cmake --build`, which rebuilds nothing when no source changed. `mix release`
  carries `priv/`, so a release needs no toolchain.

  ## Using a prebuilt resin

  Set `LACCA_RESIN_PATH` to a resin executable to skip CMake altogether: it is copied to `priv/resin`.

      LACCA_RESIN_PATH=/opt/resin/bin/resin mix compile

  ## Toolchain

  Building resin needs CMake ≥ 3.25, a C++20 compiler, make, pkg-config and a few libraries. On Debian
  or Ubuntu:

      apt-get install -y cmake g++ make pkg-config libboost-dev nlohmann-json3-dev \\
        libseccomp-dev libcap-dev libcli11-dev
  """
  use Mix.Task.Compiler

  @install_command "apt-get install -y cmake g++ make pkg-config libboost-dev nlohmann-json3-dev " <>
                     "libseccomp-dev libcap-dev libcli11-dev"
  @cmake_options ["-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DRESIN_BUILD_TESTS=OFF"]
  @tools [{"cmake", ["cmake"]}, {"a C++ compiler", ["c++", "g++"]}, {"make", ["make"]}] ++
           [{"pkg-config", ["pkg-config"]}]

  @impl true
  @spec run([String.t()]) :: {:ok | :noop, []}
  def run(_args) do
    project = Mix.Project.config()
    priv = Path.join(project_dir(), "priv")

    changed =
      [install_resin(project, priv), install_profiles(project, priv)]
      |> Enum.any?()

    sync_app_priv(priv)
    if changed, do: {:ok, []}, else: {:noop, []}
  end

  @impl true
  @spec clean() :: :ok
  def clean do
    priv = Path.join(project_dir(), "priv")
    File.rm(Path.join(priv, "resin"))
    File.rm_rf(Path.join(priv, "config"))
    :ok
  end

  defp project_dir, do: Path.dirname(Mix.Project.project_file())

  defp install_resin(project, priv) do
    source =
      case System.get_env("LACCA_RESIN_PATH") do
        path when path in [nil, ""] -> build_with_cmake(project)
        path -> prebuilt(path)
      end

    install_file(source, Path.join(priv, "resin"), 0o755)
  end

  defp prebuilt(path) do
    path = Path.expand(path)

    unless File.regular?(path) do
      Mix.raise(
        "LACCA_RESIN_PATH is #{path}, which is not a file; unset it to build resin with CMake"
      )
    end

    path
  end

  defp install_profiles(project, priv) do
    source = Path.join(resin_source(project), "config")
    target = Path.join(priv, "config")

    source
    |> Path.join("*.json")
    |> Path.wildcard()
    |> Enum.map(&install_file(&1, Path.join(target, Path.basename(&1)), 0o644))
    |> Enum.any?()
  end

  # Copies only when the content differs, so an unchanged resin leaves priv/ (and a release) alone.
  defp install_file(source, target, mode) do
    if same_content?(source, target) do
      false
    else
      File.mkdir_p!(Path.dirname(target))
      tmp = target <> ".tmp"
      File.cp!(source, tmp)
      File.chmod!(tmp, mode)
      File.rename!(tmp, target)
      true
    end
  end

  defp same_content?(a, b) do
    with {:ok, %File.Stat{size: size}} <- File.stat(a),
         {:ok, %File.Stat{size: ^size}} <- File.stat(b) do
      File.read!(a) == File.read!(b)
    else
      _ -> false
    end
  end

  # Mix links `_build/<env>/lib/lacca/priv` to `priv/` (or copies it, building embedded) before the
  # compilers run, and only if `priv/` exists: in a fresh checkout it did not, until now.
  defp sync_app_priv(priv) do
    app_priv = Path.join(Mix.Project.app_path(), "priv")

    case File.lstat(app_priv) do
      {:ok, %File.Stat{type: :directory}} -> File.cp_r!(priv, app_priv)
      {:ok, _link} -> :ok
      {:error, :enoent} -> Mix.Project.build_structure()
    end
  end

  defp build_with_cmake(project) do
    source = resin_source(project)
    build_dir = Path.join(Path.dirname(Mix.Project.build_path()), "resin-cmake")
    check_toolchain!()

    unless File.regular?(Path.join([source, "src", "host", "CMakeLists.txt"])) do
      Mix.raise(
        "the resin sources in #{source} have no executable (src/host/ is missing); " <>
          "set LACCA_RESIN_PATH to a prebuilt resin"
      )
    end

    configure = ["-S", source, "-B", build_dir] ++ @cmake_options

    unless File.exists?(Path.join(build_dir, "CMakeCache.txt")) do
      Mix.shell().info("Configuring resin (C++) in #{Path.relative_to_cwd(build_dir)}")
      cmake!(configure, "configure")
    end

    binary = Path.join([build_dir, "src", "host", "resin"])
    before = mtime(binary)
    jobs = Integer.to_string(System.schedulers_online())
    build = ["--build", build_dir, "--target", "resin", "--parallel", jobs]

    # The first build takes minutes, so its progress is shown; later ones are quiet unless they fail.
    output = if before == nil, do: IO.stream(:stdio, :line), else: ""

    if before == nil,
      do: Mix.shell().info("Building resin (C++); the first build takes a few minutes")

    # CMake reconfigures by itself when a CMakeLists.txt changes, not when one appears (a new
    # directory the build adds only if it exists): one failed build is retried after configuring.
    with {:error, _} <- cmake(build, output) do
      cmake!(configure, "configure")
      cmake!(build, "build", output)
    end

    if mtime(binary) != before, do: Mix.shell().info("Compiled resin (C++)")
    binary
  end

  defp resin_source(project) do
    source = project[:resin_source] || Path.expand("..", project_dir())

    unless File.regular?(Path.join(source, "CMakeLists.txt")) do
      Mix.raise(
        "resin's sources were not found in #{source} (no CMakeLists.txt); " <>
          "set LACCA_RESIN_PATH to a prebuilt resin"
      )
    end

    source
  end

  defp check_toolchain!() do
    missing =
      for {name, candidates} <- @tools,
          not Enum.any?(candidates, &System.find_executable/1),
          do: name

    if missing != [] do
      Mix.raise(toolchain_message("#{Enum.join(missing, ", ")} cannot be found."))
    end
  end

  defp cmake(args, into) do
    case System.cmd("cmake", args, stderr_to_stdout: true, into: into) do
      {_output, 0} -> :ok
      {output, _status} -> {:error, output}
    end
  end

  defp cmake!(args, step, into \\ "") do
    case cmake(args, into) do
      :ok ->
        :ok

      {:error, %IO.Stream{}} ->
        Mix.raise(toolchain_message("cmake could not #{step} it (see its output above)."))

      {:error, output} ->
        tail = output |> String.split("\n") |> Enum.take(-40) |> Enum.join("\n")
        Mix.raise(toolchain_message("cmake could not #{step} it:\n\n#{tail}"))
    end
  end

  defp toolchain_message(problem) do
    """
    lacca builds resin (C++) from source, and #{problem}

    If a tool, header or library is missing, install what resin needs and run mix compile again:

        #{@install_command}

    or set LACCA_RESIN_PATH to a prebuilt resin executable.
    """
  end

  defp mtime(path) do
    case File.stat(path) do
      {:ok, stat} -> stat.mtime
      {:error, _} -> nil
    end
  end
end

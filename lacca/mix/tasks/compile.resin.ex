defmodule Mix.Tasks.Compile.Resin do
  use Mix.Task.Compiler

  @shortdoc "Builds resin (C++) and installs it, with its profiles, in priv/"

  @moduledoc """
  Builds resin, lacca's sandboxing helper, and installs it in lacca's `priv/`.

  lacca runs every command through `resin`, a C++ executable built from the repository that contains
  lacca. This compiler, listed first in `compilers:` in `mix.exs`, makes `mix compile` install:

    * `priv/resin` — the executable;
    * `priv/config/*.json` — the shipped profiles (`default`, `build`, …), copied from the sources'
      `config/`; resin looks there (`<directory of resin>/config`) for a profile named in `"extends"`.

  Files are copied only when their content changed, so an unchanged resin leaves `priv/` alone.
  `mix release` carries `priv/`, so a release needs no toolchain. `mix clean` removes both; the build
  cache below stays.

  It takes no options: the arguments of `mix compile`, `--force` included, change nothing here.

  ## Where the sources are

  The `:resin_source` key of the project configuration names the repository's root (the directory
  holding `CMakeLists.txt`, `src/` and `config/`); lacca's `mix.exs` sets it to the parent of lacca's
  directory, which is also the default.

  ## Building with CMake

  Without `LACCA_RESIN_PATH`, resin is built in `_build/resin-cmake`, in the `_build` of the project
  being compiled (the depending project's, when lacca is a dependency), configured with
  `-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESIN_BUILD_TESTS=OFF` on every build; `cmake --build`
  rebuilds only what changed. The first build shows its progress and takes a few minutes. The
  result is stripped; its debug information is kept beside it as `resin.debug`, linked with
  `.gnu_debuglink` for gdb.

  CMake runs in a process group of its own, which is killed when CMake ends and when the BEAM does:
  an interrupted or killed `mix compile` leaves no CMake, make or compiler running.

  ## The build cache

  A resin built from given sources is kept in a cache outside `_build`, so a second project that
  depends on lacca, a clean `_build` or another Mix environment installs it without running CMake
  at all. It is keyed by a SHA-256 of everything the executable is made from:

    * the sources (`CMakeLists.txt`, `src/`) and the CMake options;
    * the absolute path of the sources, which resin bakes in (its `config/` is the last place it
      looks for a profile named in `"extends"`), so a resin built in one checkout never serves
      another;
    * the C and C++ compilers CMake uses (the ones its `CMakeCache.txt` names, else `CC` and `CXX`,
      else the first of `cc`, `gcc`, … and `c++`, `g++`, … in `PATH`): their `--version` and the
      content of their executables;
    * the static libraries resin is linked with (it is linked `-static-pie`): `libseccomp.a` and
      `libcap.a` where CMake finds them (pkg-config's `-L` directories, else the linker's), and
      `libc.a`, `libm.a`, `libstdc++.a`, `libgcc.a`, `libgcc_eh.a` and `rcrt1.o` where the C++
      compiler's linker finds them (`-print-file-name`), by content: after a security update of
      one of them, resin is built again.

  If any of these cannot be found, the build says so, and resin is built and installed without the
  cache (neither looked up nor stored). The cache is:

    * `LACCA_RESIN_CACHE` — the cache directory, if set;
    * otherwise the user's cache directory: `$XDG_CACHE_HOME/lacca`, or `~/.cache/lacca`.

  The cache holds executables lacca runs, often as root, so it must be a directory owned by the user
  and writable by no one else, below directories (symbolic links resolved) that are root's or the
  user's and writable by no one else unless sticky, as `/tmp` is (the build fails otherwise); and
  only entries owned by the user and writable by no one else are used. Each entry is a directory `resin-<key>` holding `resin` and
  `resin.debug`; the three most recently built are kept, and any entry may be deleted at any time.
  An entry that fails that check (a symbolic link included) is neither used nor replaced: the build
  says which file is wrong and how, and installs the resin it has just built. A build whose sources
  were edited while CMake ran, or that CMake made with another compiler than the one foreseen, is
  installed, not cached.

  Set `LACCA_RESIN_CACHE=off` to build without the cache. Either way the stripped resin last built
  is kept in `_build/resin`, with its `resin.debug`.

  ## Using a prebuilt resin

  Set `LACCA_RESIN_PATH` to a resin executable to skip CMake and the cache altogether: it is copied
  to `priv/resin` as it is (not stripped). The profiles are still copied from the sources'
  `config/`, so that much of the sources must be there: without it nothing is installed, and the
  error says so.

      LACCA_RESIN_PATH=/opt/resin/bin/resin mix compile

  ## Toolchain

  Building resin needs CMake ≥ 3.25, a C++20 compiler, make, pkg-config, binutils (`strip`,
  `objcopy`), `sh` and `setsid` (util-linux, on every Linux) and a few libraries. On Debian or Ubuntu:

      apt-get install -y cmake g++ make pkg-config libboost-dev nlohmann-json3-dev \\
        libseccomp-dev libcap-dev libcli11-dev
  """

  @install_command "apt-get install -y cmake g++ make pkg-config libboost-dev nlohmann-json3-dev " <>
                     "libseccomp-dev libcap-dev libcli11-dev"
  @cmake_options ["-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DRESIN_BUILD_TESTS=OFF"]
  @cache_entries_kept 3
  # What CMake looks for when CC and CXX are unset (CMakeDetermineCCompiler.cmake and
  # CMakeDetermineCXXCompiler.cmake), in its order.
  @c_compilers ~w(cc gcc cl bcc xlc icx clang)
  @cxx_compilers ~w(CC c++ g++ aCC cl bcc xlC icpx icx clang++)
  # Linked into the static-pie resin besides libseccomp.a and libcap.a (src/host/CMakeLists.txt).
  @linked_files ~w(libc.a libm.a libstdc++.a libgcc.a libgcc_eh.a rcrt1.o)
  @tools [{"cmake", ["cmake"]}, {"a C++ compiler", ["c++", "g++"]}, {"make", ["make"]}] ++
           [{"pkg-config", ["pkg-config"]}, {"sh", ["sh"]}, {"setsid (util-linux)", ["setsid"]}]

  @impl true
  @spec run([String.t()]) :: {:ok | :noop, []}
  def run(_args) do
    priv = Path.join(project_dir(), "priv")
    changed = install(Mix.Project.config(), priv)
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

  @doc false
  # Installs resin and the profiles in priv; true if anything changed. Public for its tests.
  def install(project, priv) do
    source = project[:resin_source] || Path.expand("..", project_dir())
    # Looked for first: without them resin is of no use, so priv/ is left as it was.
    profiles = profiles!(source)

    [install_resin(source, priv), install_profiles(profiles, priv)]
    |> Enum.any?()
  end

  defp install_resin(source, priv) do
    resin =
      case prebuilt_path() do
        nil -> build_with_cmake(source)
        path -> path |> prebuilt() |> File.read!()
      end

    install_file(resin, Path.join(priv, "resin"), 0o755)
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

  defp prebuilt_path do
    case System.get_env("LACCA_RESIN_PATH") do
      path when path in [nil, ""] -> nil
      path -> path
    end
  end

  # The profiles always come from the sources, a prebuilt resin or not: config/*.json, dot files
  # left out. Listed, not globbed: a glob built from the source's path would read any `[`, `?`,
  # `*` or `{` in it as a pattern, and copy the profiles of the directories it matched.
  defp profiles!(source) do
    config = Path.join(source, "config")

    config
    |> names_in()
    |> Enum.filter(&(String.ends_with?(&1, ".json") and not String.starts_with?(&1, ".")))
    |> Enum.sort()
    |> case do
      [] -> Mix.raise(no_profiles(source, config))
      names -> Enum.map(names, &Path.join(config, &1))
    end
  end

  defp no_profiles(source, config) do
    missing =
      cond do
        not File.dir?(source) -> "#{source} does not exist"
        not File.dir?(config) -> "#{source} has no config/"
        true -> "#{config} holds no profile (*.json)"
      end

    why =
      case prebuilt_path() do
        nil ->
          "lacca builds resin from those sources, and copies resin's profiles (config/*.json) " <>
            "from them into priv/config."

        path ->
          "LACCA_RESIN_PATH (#{path}) stands in for the resin executable only: resin's " <>
            "profiles (config/*.json) are always copied from the sources' config/ into priv/config."
      end

    "resin's sources were not found where lacca looks for them (its :resin_source): " <>
      "#{missing}. #{why} Use lacca from within the resin repository (its lacca/ directory), " <>
      "or set :resin_source in lacca's mix.exs to that repository's root."
  end

  defp install_profiles(profiles, priv) do
    target = Path.join(priv, "config")

    profiles
    |> Enum.map(&install_file(File.read!(&1), Path.join(target, Path.basename(&1)), 0o644))
    |> Enum.any?()
  end

  # Writes only when the content differs, so an unchanged resin leaves priv/ (and a release) alone.
  defp install_file(content, target, mode) do
    if File.read(target) == {:ok, content} do
      false
    else
      File.mkdir_p!(Path.dirname(target))
      tmp = target <> ".tmp"
      File.write!(tmp, content)
      File.chmod!(tmp, mode)
      File.rename!(tmp, target)
      true
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

  defp build_with_cmake(source) do
    cmake_sources!(source)
    built = Path.join(Path.dirname(Mix.Project.build_path()), "resin")

    case cache_dir() do
      nil ->
        build_uncached(source, built)

      cache ->
        cache = trusted_cache!(cache)

        case cache_key(source, cmake_build_dir()) do
          {:ok, key} ->
            build_with_cache(source, built, cache, key)

          {:undetermined, why} ->
            Mix.shell().error(
              "The resin build cache is not used for this build: #{why}, so a cached resin " <>
                "cannot be told apart from one built with another toolchain or library. " <>
                "resin is built, installed and not cached."
            )

            build_uncached(source, built)
        end
    end
  end

  defp build_uncached(source, built),
    do: source |> cmake_build() |> strip_into(built) |> File.read!()

  defp build_with_cache(source, built, cache, key) do
    entry = Path.join(cache, "resin-" <> key)

    case cached(entry) do
      # Installed from what was read and checked, never by reopening the entry.
      {:ok, content} ->
        content

      found ->
        if found != :missing, do: not_used(entry, found)
        source |> cmake_build() |> strip_into(built)

        # An entry that cannot be used is left for its owner to look at, not replaced.
        if found == :missing, do: store_if_key_holds(source, built, entry, cache, key)
        File.read!(built)
    end
  end

  # Sources edited while CMake ran, or CMake used another compiler than the one foreseen (its
  # CMakeCache.txt is read now): the binary is not the one the key names.
  defp store_if_key_holds(source, built, entry, cache, key) do
    case cache_key(source, cmake_build_dir()) do
      {:ok, ^key} ->
        store_in_cache(built, entry, cache)

      _changed ->
        Mix.shell().error(
          "resin was not cached: its sources, or the compilers CMake used, are not those the " <>
            "build started with (#{Path.join(cmake_build_dir(), "CMakeCache.txt")} names the " <>
            "compilers, CC and CXX are read only until it exists)"
        )
    end
  end

  defp cmake_build_dir, do: Path.join(Path.dirname(Mix.Project.build_path()), "resin-cmake")

  # The cache holds executables lacca runs, often as root: only a directory of this user's that
  # nobody else can write is used, and only entries of this user's in it. Whoever can write a
  # directory above it could put another in its place between a check and a write (a link to a
  # file of root's where an entry is written, say), so those are checked too, on the path with its
  # links resolved, which is the one used from then on.
  defp trusted_cache!(cache) do
    File.mkdir_p!(cache)
    real = real_path(cache)

    case Enum.find_value(ancestors(real), &unsafe_ancestor/1) || trusted(real, :directory) do
      {:ok, _stat} ->
        real

      {:ancestor, problem} ->
        Mix.raise(
          "the resin build cache #{real} is not safe: #{describe(real, problem)}, so someone " <>
            "else could replace it. Every directory above it must be root's or this " <>
            "user's and writable by no one else, unless sticky (as /tmp is); set " <>
            "LACCA_RESIN_CACHE to a directory in such a place, or off"
        )

      problem ->
        Mix.raise(
          "the resin build cache #{describe(real, problem)}; it must be a directory owned by " <>
            "this user and writable by no one else (chmod 700 it, or set LACCA_RESIN_CACHE to " <>
            "another directory, or off)"
        )
    end
  end

  defp ancestors(path) do
    case Path.dirname(path) do
      ^path -> []
      parent -> ancestors(parent) ++ [parent]
    end
  end

  # In a sticky directory only an entry's owner may rename or delete it.
  defp unsafe_ancestor(dir) do
    case File.lstat(dir) do
      {:ok, %File.Stat{type: :directory, uid: uid, mode: mode}} ->
        cond do
          uid not in [0, current_uid()] ->
            {:ancestor, {:untrusted, dir, "is owned by uid #{uid}, not by root or this user"}}

          Bitwise.band(mode, 0o022) != 0 and Bitwise.band(mode, 0o1000) == 0 ->
            {:ancestor, {:untrusted, dir, writable(mode)}}

          true ->
            nil
        end

      {:ok, %File.Stat{type: type}} ->
        {:ancestor, {:untrusted, dir, "is a #{type_name(type)}, not a directory"}}

      {:error, reason} ->
        {:ancestor, {:untrusted, dir, "cannot be examined (#{:file.format_error(reason)})"}}
    end
  end

  # The absolute path with every symbolic link resolved, `.` and `..` taken as the kernel does.
  defp real_path(path), do: resolve(Path.split(Path.absname(path)), [], 0)

  # `done`: the names resolved so far, under /, last first.
  defp resolve([], done, _links), do: Path.join(["/" | Enum.reverse(done)])
  defp resolve(["/" | rest], _done, links), do: resolve(rest, [], links)
  defp resolve(["." | rest], done, links), do: resolve(rest, done, links)
  defp resolve([".." | rest], done, links), do: resolve(rest, Enum.drop(done, 1), links)

  defp resolve([name | rest], done, links) do
    path = Path.join(["/" | Enum.reverse([name | done])])

    case File.read_link(path) do
      {:ok, _target} when links >= 40 -> Mix.raise("#{path}: too many levels of symbolic links")
      {:ok, target} -> resolve(Path.split(target) ++ rest, done, links + 1)
      {:error, _not_a_link} -> resolve(rest, [name | done], links)
    end
  end

  @doc false
  # The content of an entry's resin, if the entry and the file pass the trust check: {:ok, content},
  # :missing, or {:untrusted, path, what is wrong}. The checks are made again on the opened file, so
  # what is read is the file that passed them, not one swapped in meanwhile. Public for its tests.
  def cached(entry) do
    resin = Path.join(entry, "resin")

    with {:ok, _dir} <- trusted(entry, :directory),
         {:ok, checked} <- trusted(resin, :regular) do
      read_checked(resin, checked)
    end
  end

  # {:ok, stat} for a path (not followed if a symbolic link) of this user's, of the given type, that
  # no one else can write; otherwise :missing or {:untrusted, path, what is wrong}.
  defp trusted(path, type) do
    case File.lstat(path) do
      {:ok, stat} -> check(path, stat, type)
      {:error, :enoent} -> :missing
      {:error, reason} -> {:untrusted, path, "cannot be examined (#{:file.format_error(reason)})"}
    end
  end

  defp check(path, %File.Stat{type: actual, uid: uid, mode: mode} = stat, type) do
    writers = Bitwise.band(mode, 0o022)

    cond do
      actual == :symlink ->
        {:untrusted, path, "is a symbolic link"}

      actual != type ->
        {:untrusted, path, "is a #{type_name(actual)}, not a #{type_name(type)}"}

      uid != current_uid() ->
        {:untrusted, path, "is owned by uid #{uid}, not by this user (uid #{current_uid()})"}

      writers != 0 ->
        {:untrusted, path, writable(mode)}

      true ->
        {:ok, stat}
    end
  end

  defp writable(mode) do
    who = %{0o020 => "its group", 0o002 => "others", 0o022 => "its group and others"}
    octal = mode |> Bitwise.band(0o7777) |> Integer.to_string(8)
    "is writable by #{who[Bitwise.band(mode, 0o022)]} (mode #{octal})"
  end

  defp type_name(:regular), do: "regular file"
  defp type_name(type), do: Atom.to_string(type)

  defp read_checked(path, checked) do
    case :file.open(path, [:read, :raw, :binary]) do
      {:ok, fd} ->
        try do
          with {:ok, info} <- :file.read_file_info(fd, time: :posix),
               opened = File.Stat.from_record(info),
               true <-
                 {opened.major_device, opened.inode} == {checked.major_device, checked.inode},
               {:ok, _} <- check(path, opened, :regular),
               {:ok, content} <- read_all(fd, []) do
            {:ok, content}
          else
            false ->
              {:untrusted, path, "was replaced while it was being checked"}

            {:error, reason} ->
              {:untrusted, path, "cannot be read (#{:file.format_error(reason)})"}

            untrusted ->
              untrusted
          end
        after
          :file.close(fd)
        end

      {:error, :enoent} ->
        :missing

      {:error, reason} ->
        {:untrusted, path, "cannot be read (#{:file.format_error(reason)})"}
    end
  end

  defp read_all(fd, read) do
    case :file.read(fd, 1_048_576) do
      {:ok, data} -> read_all(fd, [read | data])
      :eof -> {:ok, IO.iodata_to_binary(read)}
      {:error, reason} -> {:error, reason}
    end
  end

  defp describe(_path, {:untrusted, path, what}), do: "#{path} #{what}"
  defp describe(path, :missing), do: "#{path} does not exist"

  defp not_used(entry, problem) do
    Mix.shell().error(
      "The cached resin in #{entry} is not used: #{describe(entry, problem)}. The resin just " <>
        "built is installed instead, and is not cached while that entry is there: find out how " <>
        "it came to be so, then delete it."
    )
  end

  defp current_uid do
    {id, 0} = System.cmd("id", ["-u"])
    id |> String.trim() |> String.to_integer()
  end

  defp cache_dir do
    case System.get_env("LACCA_RESIN_CACHE") do
      "off" -> nil
      path when path in [nil, ""] -> :filename.basedir(:user_cache, "lacca")
      path -> Path.expand(path)
    end
  end

  @doc false
  # What the resin target is built from: the CMake files and src/, by relative path and content,
  # and the options it is configured with. Public for its tests.
  def source_key(source) do
    files =
      ["CMakeLists.txt" | below(source, "src", [])]
      |> Enum.filter(&File.regular?(Path.join(source, &1)))
      |> Enum.sort()

    files
    |> Enum.reduce(:crypto.hash_init(:sha256), fn file, hash ->
      content = File.read!(Path.join(source, file))

      hash
      |> :crypto.hash_update(<<byte_size(file)::32, file::binary>>)
      |> :crypto.hash_update(<<byte_size(content)::64, content::binary>>)
    end)
    |> :crypto.hash_update(Enum.join(@cmake_options, "\0"))
    |> key_text()
  end

  @doc false
  # The key a build of `source` (configured in `build_dir`) is cached under: a SHA-256 of
  #
  #   * `source_key/1`: the CMake files and src/, by relative path and content, and the CMake
  #     options;
  #   * the absolute path of `source`: resin bakes its config/ in, as the last place it looks for a
  #     profile named in `"extends"`;
  #   * the C and C++ compilers CMake uses (`compiler/4`): their paths and any arguments, their
  #     `--version`, and the content of the executables they resolve to;
  #   * the static libraries resin is linked with (`archives/1`): libseccomp.a and libcap.a where
  #     CMake finds them, and the @linked_files (libc.a, libstdc++.a, …) where the C++ compiler's
  #     linker does, each by path and content.
  #
  # {:ok, key}, or {:undetermined, why} if any of these cannot be found: no key rather than one that
  # misses an upgraded library. Public for its tests.
  def cache_key(source, build_dir) do
    with {:ok, c} <- compiler(build_dir, "C", "CC", @c_compilers),
         {:ok, cxx} <- compiler(build_dir, "CXX", "CXX", @cxx_compilers),
         {:ok, archives} <- archives(cxx) do
      [source_key(source), Path.expand(source), c.identity, cxx.identity | archives]
      |> Enum.reduce(:crypto.hash_init(:sha256), fn part, hash ->
        :crypto.hash_update(hash, <<byte_size(part)::64, part::binary>>)
      end)
      |> key_text()
      |> then(&{:ok, &1})
    end
  end

  # The compiler CMake uses for `lang`: the one its CMakeCache.txt names once configured (CMake
  # keeps it, whatever the environment says later), else the environment variable's (a program and
  # its arguments), else the first of CMake's own list of names found in PATH.
  defp compiler(build_dir, lang, variable, names) do
    configured =
      with {:ok, text} <- File.read(Path.join(build_dir, "CMakeCache.txt")),
           [_, path] <- Regex.run(~r/^CMAKE_#{lang}_COMPILER:[A-Z]*=(.*)$/m, text) do
        [path]
      else
        _ -> nil
      end

    named = configured || default(String.split(System.get_env(variable, "")), names)

    with [program | args] <- named,
         path when is_binary(path) <- System.find_executable(program),
         {:ok, content} <- File.read(real_path(path)),
         {version, 0} <- System.cmd(path, args ++ ["--version"], stderr_to_stdout: true) do
      identity = Enum.join([lang, path | args] ++ [version, sha256(content)], "\0")
      {:ok, %{program: path, args: args, identity: identity}}
    else
      _ ->
        {:undetermined, "the #{lang} compiler (#{describe_named(named, variable)}) cannot be run"}
    end
  end

  defp default([], names), do: names |> Enum.find(&System.find_executable/1) |> List.wrap()
  defp default(words, _names), do: words

  defp describe_named([], variable), do: "#{variable} unset, and none in PATH"
  defp describe_named(named, _variable), do: Enum.join(named, " ")

  # The path and content of each static library, or {:undetermined, why} for the first not found.
  defp archives(cxx) do
    [pkg_archive(cxx, "seccomp"), pkg_archive(cxx, "cap")]
    |> Stream.concat(Stream.map(@linked_files, &linked_file(cxx, &1)))
    |> Enum.reduce_while({:ok, []}, fn
      {:ok, path}, {:ok, found} ->
        case File.read(path) do
          {:ok, content} ->
            {:cont, {:ok, [path <> "\0" <> sha256(content) | found]}}

          {:error, reason} ->
            {:halt, {:undetermined, "#{path} cannot be read (#{:file.format_error(reason)})"}}
        end

      undetermined, _found ->
        {:halt, undetermined}
    end)
  end

  # As CMakeLists.txt finds lib<name>.a: in the directories pkg-config names (its HINTS) first,
  # then where the linker looks.
  defp pkg_archive(cxx, name) do
    file = "lib#{name}.a"

    with pkg_config when is_binary(pkg_config) <- System.find_executable("pkg-config"),
         {flags, 0} <- System.cmd(pkg_config, ["--libs-only-L", "lib" <> name]) do
      flags
      |> String.split()
      |> Enum.flat_map(fn
        "-L" <> dir -> [Path.join(dir, file)]
        _ -> []
      end)
      |> Enum.find(&File.regular?/1)
      |> case do
        nil -> linked_file(cxx, file)
        path -> {:ok, path}
      end
    else
      _ -> {:undetermined, "pkg-config cannot tell where lib#{name} is"}
    end
  end

  # Where the linker the C++ compiler runs finds `file`.
  defp linked_file(cxx, file) do
    query = "-print-file-name=" <> file

    case System.cmd(cxx.program, cxx.args ++ [query]) do
      {output, 0} ->
        path = String.trim(output)

        if Path.type(path) == :absolute and File.regular?(path),
          do: {:ok, path},
          else: {:undetermined, "#{file} cannot be found (#{cxx.program} does not know it)"}

      {_output, _status} ->
        {:undetermined, "#{cxx.program} #{query} failed"}
    end
  end

  # A finished SHA-256 as a key: 32 hex digits.
  defp key_text(hash),
    do: hash |> :crypto.hash_final() |> Base.encode16(case: :lower) |> binary_part(0, 32)

  defp sha256(content), do: :crypto.hash(:sha256, content)

  # The paths, relative to `root`, of everything below its `dir`, dot files included. Listed, not
  # globbed: a glob built from `root` would read any `[`, `?`, `*` or `{` in it as a pattern.
  # Symbolic links are followed, since the compiler follows them and the key must cover what it
  # reads, but not into a directory being listed already (a loop).
  defp below(root, dir, listing) do
    path = Path.join(root, dir)

    with {:ok, %File.Stat{type: :directory} = stat} <- File.stat(path),
         id = {stat.major_device, stat.inode},
         false <- id in listing,
         {:ok, names} <- File.ls(path) do
      Enum.flat_map(names, fn name ->
        file = Path.join(dir, name)
        [file | below(root, file, [id | listing])]
      end)
    else
      _ -> []
    end
  end

  @doc false
  # Copies `built` (a stripped resin, its .debug beside it) into the cache as `entry`, and returns
  # `built`: what is installed is the resin just built, whatever the cache holds under that name.
  # Written to a temporary directory and renamed: a concurrent build of another project either
  # finds the whole entry or none of it. Public for its tests.
  def store_in_cache(built, entry, cache) do
    # Unique across concurrent builds, and made, not reused: a clash fails instead of sharing.
    suffix = Base.encode16(:crypto.strong_rand_bytes(8), case: :lower)
    tmp = "#{entry}.tmp-#{System.pid()}-#{suffix}"
    File.mkdir!(tmp)
    File.chmod!(tmp, 0o755)

    # Made with the umask's mode: whatever got in before the chmod would be written through.
    case {trusted(tmp, :directory), File.ls!(tmp)} do
      {{:ok, _stat}, []} ->
        copy_into_cache(built, tmp, entry, cache)

      {{:ok, _stat}, files} ->
        Mix.shell().error(
          "resin was not cached: #{tmp}, just made by this build, already holds " <>
            "#{Enum.join(files, ", ")}; it is left there to be looked at"
        )

      {untrusted, _files} ->
        Mix.shell().error("resin was not cached: #{describe(tmp, untrusted)}")
    end

    built
  end

  defp copy_into_cache(built, tmp, entry, cache) do
    install_file(File.read!(built), Path.join(tmp, "resin"), 0o755)
    install_file(File.read!(built <> ".debug"), Path.join(tmp, "resin.debug"), 0o644)

    case File.rename(tmp, entry) do
      :ok ->
        prune_cache(cache)

      {:error, reason} ->
        File.rm_rf!(tmp)

        # A concurrent build stored the same sources meanwhile, or something else is there.
        case cached(entry) do
          {:ok, _content} ->
            :ok

          :missing ->
            Mix.shell().error(
              "resin was not cached: #{tmp} could not be renamed to #{entry} " <>
                "(#{:file.format_error(reason)})"
            )

          untrusted ->
            not_used(entry, untrusted)
        end
    end
  end

  # Listed, not globbed: a glob built from the cache's path would read any `?`, `*`, `[` or `{` in
  # it as a pattern, and delete the entries of the directories it matched.
  defp prune_cache(cache) do
    cache
    |> names_in()
    |> Enum.filter(&(String.starts_with?(&1, "resin-") and not String.contains?(&1, ".tmp-")))
    |> Enum.flat_map(fn name ->
      entry = Path.join(cache, name)

      # Not followed if a link; gone already if a concurrent build pruned it.
      case File.lstat(entry, time: :posix) do
        {:ok, stat} -> [{stat.mtime, entry}]
        {:error, _} -> []
      end
    end)
    |> Enum.sort(:desc)
    |> Enum.drop(@cache_entries_kept)
    |> Enum.each(fn {_mtime, entry} -> File.rm_rf(entry) end)
  end

  # The names in a directory (symbolic links followed), none if it cannot be listed.
  defp names_in(dir) do
    case File.ls(dir) do
      {:ok, names} -> names
      {:error, _} -> []
    end
  end

  # target: the stripped executable; target.debug: its debug information, linked by name.
  defp strip_into(binary, target) do
    debug = target <> ".debug"
    File.mkdir_p!(Path.dirname(target))
    tool!("objcopy", ["--only-keep-debug", binary, debug])
    tool!("strip", ["--strip-all", "-o", target, binary])
    tool!("objcopy", ["--add-gnu-debuglink=#{debug}", target])
    target
  end

  defp tool!(tool, args) do
    executable =
      System.find_executable(tool) ||
        Mix.raise(toolchain_message("#{tool} (binutils) cannot be found."))

    case System.cmd(executable, args, stderr_to_stdout: true) do
      {_output, 0} ->
        :ok

      {output, status} ->
        Mix.raise("#{tool} #{Enum.join(args, " ")} failed (#{status}): #{output}")
    end
  end

  defp cmake_build(source) do
    build_dir = cmake_build_dir()
    check_toolchain!()

    configure = ["-S", source, "-B", build_dir] ++ @cmake_options

    # Configured on every build, so that the options the cache key names are the ones in force
    # even in a build directory configured by hand.
    unless File.exists?(Path.join(build_dir, "CMakeCache.txt")),
      do: Mix.shell().info("Configuring resin (C++) in #{Path.relative_to_cwd(build_dir)}")

    cmake!(configure, "configure")

    binary = Path.join([build_dir, "src", "host", "resin"])
    before = mtime(binary)
    jobs = Integer.to_string(System.schedulers_online())
    build = ["--build", build_dir, "--target", "resin", "--parallel", jobs]

    # The first build takes minutes, so its progress is shown; later ones are quiet unless they fail.
    output = if before == nil, do: IO.stream(:stdio, :line), else: ""

    if before == nil,
      do: Mix.shell().info("Building resin (C++); the first build takes a few minutes")

    cmake!(build, "build", output)

    if mtime(binary) != before, do: Mix.shell().info("Compiled resin (C++)")
    binary
  end

  defp cmake_sources!(source) do
    missing =
      Enum.reject(["CMakeLists.txt", "src/host/CMakeLists.txt"], fn file ->
        File.regular?(Path.join(source, file))
      end)

    if missing != [] do
      Mix.raise(
        "resin cannot be built: its sources in #{source} (lacca's :resin_source) have no " <>
          "#{Enum.join(missing, " and no ")}. Set :resin_source in lacca's mix.exs to the resin " <>
          "repository's root, or set LACCA_RESIN_PATH to a prebuilt resin executable (the " <>
          "profiles are still copied from #{Path.join(source, "config")})."
      )
    end
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
    case cmd_ended_with_beam("cmake", args, stderr_to_stdout: true, into: into) do
      {_output, 0} -> :ok
      {output, _status} -> {:error, output}
    end
  end

  # A port's program outlives the BEAM: an interrupted or killed `mix compile` would leave CMake,
  # make and the compilers building into _build. So the program runs in a process group of its own
  # (`setsid`: a background job of a shell without job control never leads a group, so setsid
  # makes the group without forking), and the shell reads the port, which the BEAM never writes to,
  # until its end: that comes when the BEAM goes, and the shell then kills the whole group (and the
  # program by its pid, should the end come before setsid made the group). What the program leaves
  # running when it ends is killed too. The watcher holds none of the port's output open, so the
  # port closes when the shell ends, however it ends.
  @ended_with_beam ~S"""
  exec 3<&0
  setsid -- "$@" </dev/null 3<&- &
  program=$!
  { while read -r _ <&3; do :; done; kill -TERM "-$program" "$program"; } >/dev/null 2>&1 &
  watcher=$!
  exec 3<&-
  wait "$program" 2>/dev/null
  status=$?
  kill "$watcher" 2>/dev/null
  kill -TERM "-$program" 2>/dev/null
  exit "$status"
  """

  @doc false
  # System.cmd/3, with `program` and all it starts killed when it ends, or if this BEAM ends first.
  def cmd_ended_with_beam(program, args, opts) do
    {executable, argv} = ended_with_beam(program, args)
    System.cmd(executable, argv, opts)
  end

  @doc false
  # The executable and arguments that run `program` so (sh and setsid: check_toolchain!/0).
  def ended_with_beam(program, args),
    do: {System.find_executable("sh"), ["-c", @ended_with_beam, "sh", program | args]}

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

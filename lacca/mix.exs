# Mix runs the compiler that builds resin before it compiles lib/, so that compiler cannot live in
# lib/: it is compiled here, on every Mix command. `mix help` reads a task's documentation from its
# .beam on the code path (a module compiled in memory has none), so the .beam is also written to
# lacca's own _build/mix_tasks (also when lacca is a dependency: Mix.Project.build_path/0 is not
# settled while a mix.exs is evaluated) and that directory put at the end of the code path, so that
# nothing else there can stand in for a module of Elixir, Mix or OTP not loaded yet. If it cannot be
# written, the compiler still runs; only `mix help compile.resin` has nothing to show.
unless Code.ensure_loaded?(Mix.Tasks.Compile.Resin) do
  [{task, beam}] = Code.compile_file("mix/tasks/compile.resin.ex", __DIR__)
  ebin = Path.join([__DIR__, "_build", "mix_tasks"])
  file = Path.join(ebin, "#{task}.beam")
  # Renamed into place, so that a concurrent `mix help` never reads half a file.
  tmp = "#{file}.tmp-#{System.pid()}"

  written? =
    File.read(file) == {:ok, beam} or
      (File.mkdir_p(ebin) == :ok and File.write(tmp, beam) == :ok and
         File.rename(tmp, file) == :ok)

  File.rm(tmp)
  if written?, do: Code.append_path(ebin)
end

defmodule Lacca.MixProject do
  use Mix.Project

  @version "0.1.0"

  def project do
    [
      app: :lacca,
      version: @version,
      elixir: "~> 1.14",
      compilers: [:resin] ++ Mix.compilers(),
      start_permanent: Mix.env() == :prod,
      elixirc_paths: elixirc_paths(Mix.env()),
      deps: deps(),
      aliases: aliases(),
      name: "lacca",
      docs: docs(),
      releases: [lacca: [include_executables_for: [:unix]]],
      # Where Mix.Tasks.Compile.Resin finds the C++ sources of resin (the repository's root).
      resin_source: Path.expand("..", __DIR__)
    ]
  end

  def application do
    [mod: {Lacca.Application, []}, extra_applications: [:logger]]
  end

  # lacca depends on nothing, so `mix compile` and `mix test` need neither Hex nor a network. ex_doc
  # comes in only on request, where it can be had: `LACCA_DOCS=1` takes it from Hex (after
  # `mix deps.get`), `LACCA_DOCS=/path/to/ex_doc` from a checkout. See README.md, "Documentation".
  defp deps do
    case System.get_env("LACCA_DOCS", "") do
      "" -> []
      "1" -> [{:ex_doc, "~> 0.34", only: :dev, runtime: false}]
      path -> [{:ex_doc, path: path, only: :dev, runtime: false}]
    end
  end

  # Without ex_doc, `mix docs` says how to get it instead of "task not found".
  defp aliases do
    if deps() == [] do
      [docs: fn _ -> Mix.raise("mix docs needs ex_doc: see README.md, \"Documentation\"") end]
    else
      []
    end
  end

  defp docs do
    [
      main: "readme",
      extras: ["README.md": [title: "Overview"], "guides/profiles.md": [title: "Profiles"]],
      groups_for_extras: [Guides: ["guides/profiles.md"]],
      groups_for_modules: [
        "Running commands": [Lacca, Lacca.Result, Lacca.Exit, Lacca.Stdin, Lacca.Signal],
        Configuration: [Lacca.Config, Lacca.Options],
        Errors: [Lacca.Error, Lacca.ExitError],
        "Pool and placement": [Lacca.Pool, Lacca.Pool.Entry, Lacca.Cluster],
        Protocol: [Lacca.Protocol]
      ]
    ]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end

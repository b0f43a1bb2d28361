# The compiler that builds resin must exist before the project compiles, so it lives outside lib/.
Code.require_file("mix/tasks/compile.resin.ex", __DIR__)

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
      deps: [],
      docs: [main: "Lacca", extras: ["README.md"]],
      releases: [lacca: [include_executables_for: [:unix]]],
      # Where Mix.Tasks.Compile.Resin finds the C++ sources of resin (the repository's root).
      resin_source: Path.expand("..", __DIR__)
    ]
  end

  def application do
    [mod: {Lacca.Application, []}, extra_applications: [:logger]]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end

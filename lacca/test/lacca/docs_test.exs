defmodule Lacca.DocsTest do
  # Issue 12, item 6: every public module's examples run as doctests (real sandboxes), and every
  # public module, function and type is documented and specified, so `mix docs` shows no gaps.
  use ExUnit.Case, async: true

  # Each public module once; the test below keeps this list equal to the documented modules.
  @doctested [
    Lacca,
    Lacca.Config,
    Lacca.Error,
    Lacca.Exit,
    Lacca.ExitError,
    Lacca.Options,
    Lacca.Cluster,
    Lacca.Pool,
    Lacca.Pool.Entry,
    Lacca.Protocol,
    Lacca.Result,
    Lacca.Signal,
    Lacca.Stdin
  ]

  doctest Lacca
  doctest Lacca.Config
  doctest Lacca.Error
  doctest Lacca.Exit
  doctest Lacca.ExitError
  doctest Lacca.Options
  doctest Lacca.Pool
  doctest Lacca.Pool.Entry
  doctest Lacca.Cluster
  doctest Lacca.Protocol
  doctest Lacca.Result
  doctest Lacca.Signal
  doctest Lacca.Stdin

  # lacca's modules, from lib/ (in the test environment the app also holds test/support).
  defp lib_modules do
    {:ok, modules} = :application.get_key(:lacca, :modules)
    lib = Path.expand("../../lib", __DIR__)

    Enum.filter(
      modules,
      &(&1.module_info(:compile)[:source] |> to_string() |> String.starts_with?(lib))
    )
  end

  # The modules ExDoc shows: those with documentation, not marked `@moduledoc false` (protocol
  # implementations have no documentation of their own: they are shown with their protocol).
  defp public_modules do
    for module <- lib_modules(),
        {:docs_v1, _, _, _, moduledoc, _, _} <- [Code.fetch_docs(module)],
        moduledoc != :hidden,
        not protocol_impl?(module),
        do: module
  end

  defp protocol_impl?(module) do
    Code.ensure_loaded!(module)
    function_exported?(module, :__impl__, 1)
  end

  defp docs(module) do
    {:docs_v1, _, _, _, %{"en" => moduledoc}, _, entries} = Code.fetch_docs(module)
    {moduledoc, entries}
  end

  test "every public module has its doctests run here" do
    assert Enum.sort(public_modules()) == Enum.sort(@doctested)
  end

  test "the internal modules are the ones a caller never names" do
    hidden =
      for module <- lib_modules(),
          match?({:docs_v1, _, _, _, :hidden, _, _}, Code.fetch_docs(module)),
          do: module

    assert Enum.sort(hidden) ==
             Enum.sort([
               Lacca.Application,
               Lacca.Credit,
               Lacca.Input,
               Lacca.JSON,
               Lacca.LogLines,
               Lacca.Output,
               Lacca.OutputStream,
               Lacca.Resin,
               Lacca.Server,
               Lacca.StdinQueue,
               Lacca.Tail
             ])
  end

  # `mix docs` cannot run where ex_doc is missing, so its configuration is checked here.
  test "mix.exs's docs config: every public module in a group, every extra a file" do
    docs = Mix.Project.config()[:docs]
    grouped = docs[:groups_for_modules] |> Keyword.values() |> List.flatten()
    assert Enum.sort(grouped) == Enum.sort(@doctested)

    for {extra, _} <- docs[:extras] do
      assert File.regular?(Path.expand("../../#{extra}", __DIR__)), "#{extra} does not exist"
    end

    assert "guides/profiles.md" in Enum.map(docs[:extras], fn {extra, _} -> to_string(extra) end)
    assert docs[:main] == "readme"
  end

  test "every public module's doc has a runnable example" do
    for module <- @doctested do
      {moduledoc, _} = docs(module)
      assert moduledoc =~ "iex> ", "#{inspect(module)}'s @moduledoc has no iex> example"
    end
  end

  test "every public function has a @doc and a @spec" do
    for module <- @doctested do
      {_, entries} = docs(module)
      {:ok, specs} = Code.Typespec.fetch_specs(module)
      specified = MapSet.new(specs, fn {name_arity, _} -> name_arity end)

      for {{kind, name, arity}, _, _, doc, _} <- entries,
          kind in [:function, :macro],
          doc != :hidden do
        assert doc != :none, "#{inspect(module)}.#{name}/#{arity} has no @doc"

        assert {name, arity} in specified, "#{inspect(module)}.#{name}/#{arity} has no @spec"
      end
    end
  end

  test "every public type has a @typedoc" do
    for module <- @doctested do
      {_, entries} = docs(module)

      for {{:type, name, arity}, _, _, doc, _} <- entries do
        assert doc not in [:none, :hidden],
               "#{inspect(module)}.t:#{name}/#{arity} has no @typedoc"
      end
    end
  end
end

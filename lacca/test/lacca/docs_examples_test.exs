defmodule Lacca.DocsExamplesTest do
  # Issue 12, items 3 and 6: every ```elixir block of the READMEs and lacca's guides runs as written,
  # in real sandboxes, and returns what the text says: a block states its results as pattern
  # matches (`{:ok, %Lacca.Result{stdout: "a\n"}} = ...`, a MatchError otherwise), and may end with
  # a `# => value` line, which the block's value must equal.
  #
  # A marker on the line before a block, like tests/docs_examples_test.cpp's `<!-- file: NAME -->`
  # for JSON, names it (`<!-- example: NAME -->`) or says why it cannot run
  # (`<!-- example: not run: REASON -->`, e.g. a fragment of someone's mix.exs).
  #
  # Each block runs on its own, in a fresh directory that is also its System.tmp_dir!/0 and holds
  # the files the README names (big.csv), so the suite is not async: the cwd is the whole VM's.
  use ExUnit.Case, async: false

  @root Path.expand("../..", __DIR__)
  # The repository's README (its JSON examples are tests/docs_examples_test.cpp's), lacca's, the guides.
  @documents [
    "../README.md",
    "README.md"
    | Enum.map(
        Lacca.Test.RepoFiles.with_extension(Path.join(@root, "guides"), ".md"),
        &Path.relative_to(&1, @root)
      )
  ]

  for document <- @documents, do: @external_resource(Path.join(@root, document))

  import Lacca.Test.DocExamples, only: [examples: 2]

  setup do
    dir =
      Path.join(System.tmp_dir!(), "lacca-docs-examples-#{System.unique_integer([:positive])}")

    File.mkdir_p!(dir)
    File.chmod!(dir, 0o755)
    cwd = File.cwd!()
    tmpdir = System.get_env("TMPDIR")
    File.cd!(dir)
    System.put_env("TMPDIR", dir)

    on_exit(fn ->
      File.cd!(cwd)
      if tmpdir, do: System.put_env("TMPDIR", tmpdir), else: System.delete_env("TMPDIR")
      File.rm_rf!(dir)
    end)

    # The README sorts a big.csv into sorted.csv: 200,000 lines, 1000 distinct ones.
    lines = for _ <- 1..200_000, do: "row-#{:rand.uniform(1000)}\n"
    File.write!(Path.join(dir, "big.csv"), lines)
    %{dir: dir, csv_lines: lines}
  end

  # What a named example leaves behind, beyond its own matches.
  defp check("sort-file", %{dir: dir, csv_lines: lines}) do
    assert File.read!(Path.join(dir, "sorted.csv")) ==
             lines |> Enum.uniq() |> Enum.sort() |> Enum.join()
  end

  defp check(_name, _context), do: :ok

  defp run_example(example, context) do
    file = Path.join(@root, example.document)
    {value, _binding} = Code.eval_string(example.code, [], file: file, line: example.line + 1)

    case example.code |> String.trim_trailing() |> String.split("\n") |> List.last() do
      "# => " <> expected ->
        {expected, _} = Code.eval_string(expected)
        assert value == expected, "#{example.document}:#{example.line}: got #{inspect(value)}"

      _ ->
        :ok
    end

    check(example.name, context)
  end

  for document <- @documents, example <- examples(@root, document), is_nil(example.skip) do
    @example example
    test "#{document}:#{example.line}#{if example.name, do: " (#{example.name})"} runs as written",
         context do
      run_example(@example, context)
    end
  end

  test "the README and the guide have examples, and every one not run says why" do
    for document <- @documents do
      examples = examples(@root, document)
      assert Enum.count(examples, &is_nil(&1.skip)) > 0, "#{document} has no runnable example"

      for %{skip: reason, line: line} <- examples, reason != nil do
        assert String.length(String.trim(reason)) > 10,
               "#{document}:#{line}: say why it is not run"
      end
    end

    assert "guides/profiles.md" in @documents
  end
end

defmodule Lacca.Test.DocExamples do
  @moduledoc false
  # Extracts the ```elixir blocks of a Markdown document, for Lacca.DocsExamplesTest. A marker on
  # the line before a block names it (`<!-- example: NAME -->`) or says why it is not run
  # (`<!-- example: not run: REASON -->`).

  @marker ~r/^<!-- example: (.+?) -->$/

  @doc "Each ```elixir block of `document` (relative to `root`): document, line, code, name, skip."
  @spec examples(Path.t(), Path.t()) :: [map()]
  def examples(root, document) do
    {examples, _, _} =
      root
      |> Path.join(document)
      |> File.read!()
      |> String.split("\n")
      |> Enum.with_index(1)
      |> Enum.reduce({[], nil, ""}, fn
        {"```" <> _, _}, {examples, %{} = open, previous} ->
          {[open | examples], nil, previous}

        {line, _}, {examples, %{} = open, previous} ->
          {examples, %{open | code: open.code <> line <> "\n"}, previous}

        {"```elixir", number}, {examples, nil, previous} ->
          {examples, open(document, number, previous), previous}

        {line, _}, {examples, nil, previous} ->
          {examples, nil, if(String.trim(line) == "", do: previous, else: String.trim(line))}
      end)

    Enum.reverse(examples)
  end

  defp open(document, number, previous) do
    base = %{document: document, line: number, code: "", name: nil, skip: nil}

    case Regex.run(@marker, previous) do
      [_, "not run: " <> reason] -> %{base | skip: reason}
      [_, name] -> %{base | name: name}
      nil -> base
    end
  end
end

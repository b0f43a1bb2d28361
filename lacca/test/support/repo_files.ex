defmodule Lacca.Test.RepoFiles do
  @moduledoc false
  # Lists a directory's files by extension. Not Path.wildcard/1: the path is the checkout's, and a
  # checkout under a directory named like `p[1]` would make the pattern match nothing, and the tests
  # that loop over the files pass over none.

  @doc "The paths of the files in `dir` whose names end in `extension` (e.g. \".bin\"), sorted."
  @spec with_extension(Path.t(), String.t()) :: [Path.t()]
  def with_extension(dir, extension) do
    dir
    |> File.ls!()
    |> Enum.filter(&String.ends_with?(&1, extension))
    |> Enum.sort()
    |> Enum.map(&Path.join(dir, &1))
  end
end

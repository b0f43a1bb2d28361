defmodule Mix.Tasks.Compile.ResinTest do
  # The prebuilt path (LACCA_RESIN_PATH) and the docs; tests/lacca_build_cache.sh checks the CMake path.
  use ExUnit.Case, async: false

  alias Mix.Tasks.Compile.Resin

  setup do
    previous = System.get_env("LACCA_RESIN_PATH")

    on_exit(fn ->
      if previous,
        do: System.put_env("LACCA_RESIN_PATH", previous),
        else: System.delete_env("LACCA_RESIN_PATH")
    end)
  end

  test "a prebuilt resin identical to the installed one changes nothing" do
    {:ok, installed} = Lacca.Resin.path(nil)
    copy = Path.join(System.tmp_dir!(), "resin-#{System.unique_integer([:positive])}")
    File.cp!(installed, copy)
    on_exit(fn -> File.rm(copy) end)

    System.put_env("LACCA_RESIN_PATH", copy)
    assert Resin.run([]) == {:noop, []}
  end

  # mix.exs compiles the task before the project does, and writes its .beam where docs are read.
  test "its documentation is in a .beam on the code path, where mix help reads it" do
    assert {:docs_v1, _, _, _, %{"en" => moduledoc}, _, _} = Code.fetch_docs(Resin)
    assert moduledoc =~ "LACCA_RESIN_PATH"
    assert Resin in Mix.Task.load_all()
  end

  test "mix help shows the task's documentation, and lists it with its short description" do
    lacca = Path.expand("../..", __DIR__)

    {doc, 0} = System.cmd("mix", ["help", "compile.resin"], cd: lacca, stderr_to_stdout: true)
    assert doc =~ "Builds resin, lacca's sandboxing helper, and installs it in lacca's `priv/`."
    assert doc =~ "LACCA_RESIN_CACHE"
    refute doc =~ "There is no documentation"

    {list, 0} = System.cmd("mix", ["help"], cd: lacca, stderr_to_stdout: true)
    assert list =~ ~r/^mix compile\.resin +# Builds resin/m
  end

  test "a LACCA_RESIN_PATH that is not a file is one clear error" do
    System.put_env("LACCA_RESIN_PATH", "/nonexistent/resin")

    assert_raise Mix.Error, ~r"LACCA_RESIN_PATH is /nonexistent/resin, which is not a file", fn ->
      Resin.run([])
    end
  end
end

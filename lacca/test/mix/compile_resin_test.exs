defmodule Mix.Tasks.Compile.ResinTest do
  # Only the prebuilt path (LACCA_RESIN_PATH): the CMake path is what `mix test` itself just ran.
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

  test "a LACCA_RESIN_PATH that is not a file is one clear error" do
    System.put_env("LACCA_RESIN_PATH", "/nonexistent/resin")

    assert_raise Mix.Error, ~r"LACCA_RESIN_PATH is /nonexistent/resin, which is not a file", fn ->
      Resin.run([])
    end
  end
end

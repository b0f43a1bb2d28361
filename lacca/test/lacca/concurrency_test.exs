defmodule Lacca.ConcurrencyTest do
  use ExUnit.Case, async: true

  @count 200

  @tag :slow
  @tag timeout: 300_000
  test "#{@count} sandboxed processes run at the same time, each with its own output" do
    # Started from tasks, owned by the test: a Lacca process ends with its owner.
    test = self()

    pids =
      1..@count
      |> Task.async_stream(
        fn _ -> Lacca.start("cat", [], owner: test, start_timeout: 120_000) end,
        max_concurrency: 2 * System.schedulers_online(),
        timeout: :infinity
      )
      |> Enum.map(fn {:ok, {:ok, pid}} -> pid end)

    # All of them are running now; each echoes its own number back.
    assert Enum.all?(pids, &match?({:ok, %{status: :running}}, Lacca.info(&1)))

    for {pid, n} <- Enum.with_index(pids) do
      :ok = Lacca.write_stdin(pid, "#{n}\n")
      :ok = Lacca.close_stdin(pid)
    end

    for {pid, n} <- Enum.with_index(pids) do
      assert Lacca.read_stdout(pid, 60_000) == {:ok, "#{n}\n"}
      assert {:ok, %Lacca.Exit{exit_code: 0}} = Lacca.await_exit(pid, 60_000)
      assert {:ok, %Lacca.Exit{exit_code: 0}} = Lacca.stop(pid)
    end
  end
end

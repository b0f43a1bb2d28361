defmodule Lacca.DistributionTest do
  # `node:` starts the Lacca process, and its resin, on another node; the API is the same.
  use ExUnit.Case, async: false

  alias Lacca.{Exit, Result}
  import Lacca.Test.OSProcesses

  @moduletag :distributed

  setup_all do
    unless Node.alive?() do
      {_, 0} = System.cmd("epmd", ["-daemon"])
      {:ok, _} = Node.start(:"lacca_test_#{System.unique_integer([:positive])}", :shortnames)
    end

    code_path = Enum.flat_map(:code.get_path(), &[~c"-pa", &1])
    {:ok, peer, node} = :peer.start_link(%{name: :peer.random_name(), args: code_path})
    on_exit(fn -> catch_exit(:peer.stop(peer)) end)
    %{peer: peer, node: node}
  end

  test "a command runs on the other node, under that node's resin", %{node: node} do
    {:ok, pid} = Lacca.start("sh", ["-c", "echo $$; read x; echo got $x"], node: node)
    assert node(pid) == node

    {:ok, info} = Lacca.info(pid)
    resin_beam = :erpc.call(node, System, :pid, [])
    # resin is a child of the other node's VM (through its erl_child_setup).
    assert parent_chain(info.resin_os_pid) |> Enum.member?(String.to_integer(resin_beam))

    assert {:ok, _} = Lacca.read_stdout(pid)
    :ok = Lacca.write_stdin(pid, "hi\n")
    assert Lacca.read_stdout(pid) == {:ok, "got hi\n"}
    assert {:ok, %Exit{exit_code: 0}} = Lacca.await_exit(pid, 10_000)
    assert {:ok, %Exit{exit_code: 0}} = Lacca.stop(pid)
  end

  test "run/3 and streaming across nodes", %{node: node} do
    assert {:ok, %Result{stdout: "remote\n"}} = Lacca.run("echo", ["remote"], node: node)
  end

  test "errors come back as values", %{node: node} do
    assert {:error, %Lacca.Error{reason: :executable_not_found}} =
             Lacca.start("no-such-command", [], node: node)

    assert {:error, %Lacca.Error{reason: :noproc}} =
             Lacca.start("true", [], node: :nowhere@nohost)
  end

  test "the remote Lacca process ends with its local owner, and the tree with it", %{node: node} do
    marker = marker()
    test = self()

    owner =
      spawn(fn ->
        {:ok, pid} = Lacca.start_link("sh", ["-c", "sleep #{marker} & wait"], node: node)
        send(test, {:lacca, pid})
        Process.sleep(:infinity)
      end)

    assert_receive {:lacca, lacca}, 15_000
    ref = Process.monitor(lacca)
    eventually(fn -> length(find(marker)) == 2 end)

    Process.exit(owner, :kill)
    assert_receive {:DOWN, ^ref, :process, ^lacca, _}, 5_000
    eventually(fn -> find(marker) == [] end)
  end

  defp parent_chain(pid) when pid <= 1, do: []

  defp parent_chain(pid) do
    case File.read("/proc/#{pid}/stat") do
      {:ok, stat} ->
        [_, rest] = String.split(stat, ") ", parts: 2)
        parent = rest |> String.split() |> Enum.at(1) |> String.to_integer()
        [parent | parent_chain(parent)]

      {:error, _} ->
        []
    end
  end
end

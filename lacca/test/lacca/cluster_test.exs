defmodule Lacca.ClusterTest do
  # `node: :auto`: placement on the connected lacca node with the most headroom, through :pg.
  use ExUnit.Case, async: false

  alias Lacca.Cluster
  import Lacca.Test.OSProcesses

  @moduletag :distributed

  setup_all do
    unless Node.alive?() do
      {_, 0} = System.cmd("epmd", ["-daemon"])
      {:ok, _} = Node.start(:"lacca_test_#{System.unique_integer([:positive])}", :shortnames)
    end

    :ok
  end

  # A peer running the lacca application with `capacity`, stopped when the test ends.
  defp lacca_peer(capacity) do
    code_path = Enum.flat_map(:code.get_path(), &[~c"-pa", &1])

    {:ok, peer, node} =
      :peer.start(%{name: :peer.random_name(), args: code_path ++ [~c"-connect_all", ~c"false"]})

    on_exit(fn ->
      try do
        :peer.stop(peer)
      catch
        :exit, _ -> :ok
      end
    end)

    :ok = :erpc.call(node, Application, :put_env, [:lacca, :capacity, capacity])
    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:lacca])

    eventually(
      fn -> Enum.any?(Cluster.loads(), &(&1.node == node)) end,
      10_000,
      "#{node} to join"
    )

    {peer, node}
  end

  defp sleeper(opts) do
    {:ok, pid} = Lacca.start("sleep", ["3600"], opts)
    pid
  end

  defp running(node), do: :erpc.call(node, Cluster, :load, []).running

  test "a start goes to the node with the most headroom, and the choice is in info/1" do
    {_, a} = lacca_peer(50_000)
    {_, b} = lacca_peer(50_000)

    # a runs 2, b nothing: b has more room (and the local node only its default 1000).
    a_pids = for _ <- 1..2, do: sleeper(node: a)
    assert running(a) == 2

    pid = sleeper(node: :auto)
    assert node(pid) == b
    assert {:ok, %{node: ^b, status: :running}} = Lacca.info(pid)

    # Now b runs 4 and a 2: the next one goes to a.
    b_pids = [pid | for(_ <- 1..3, do: sleeper(node: b))]
    assert running(b) == 4
    pid = sleeper(node: :auto)
    assert node(pid) == a
    assert {:ok, %{node: ^a}} = Lacca.info(pid)

    for pid <- [pid | a_pids ++ b_pids], do: {:ok, _} = Lacca.stop(pid, 0)
    eventually(fn -> running(a) == 0 and running(b) == 0 end)
  end

  test "a tie goes to the local node; with no lacca elsewhere, the start is local" do
    local = Cluster.load()
    assert Cluster.pick() == node()

    {_, peer} = lacca_peer(local.capacity - local.running)
    assert Enum.any?(Cluster.loads(), &(&1.node == peer))
    assert Cluster.pick() == node()
    pid = sleeper(node: :auto)
    assert node(pid) == node()
    {:ok, _} = Lacca.stop(pid, 0)
  end

  @tag :capture_log
  test "a chosen node that cannot start the Lacca process: the start falls back to the local node" do
    # A member still listed for a node that is gone (its :pg entry not yet removed): it
    # advertises the most room, and a start there fails with :noproc.
    gone = :"gone_#{System.unique_integer([:positive])}@nohost"

    member =
      spawn_link(fn ->
        :ok = :pg.join(Cluster.scope(), :lacca_nodes, self())

        answer = fn answer ->
          receive do
            {:"$gen_call", from, :load} ->
              GenServer.reply(from, %{node: gone, capacity: 1_000_000, running: 0, stock: 0})
              answer.(answer)
          end
        end

        answer.(answer)
      end)

    eventually(fn -> Cluster.pick() == gone end)
    assert {:error, %Lacca.Error{reason: :noproc}} = Lacca.start("true", [], node: gone)

    pid = sleeper(node: :auto)
    assert {:ok, %{node: local}} = Lacca.info(pid)
    assert local == node()
    {:ok, _} = Lacca.stop(pid, 0)
    Process.unlink(member)
    Process.exit(member, :kill)
  end

  test "a member that does not answer is left out after 1 s, and its late answer is dropped" do
    test = self()

    silent =
      spawn_link(fn ->
        :ok = :pg.join(Cluster.scope(), :lacca_nodes, self())
        send(test, :joined)

        receive do
          {:"$gen_call", from, :load} ->
            receive do:
                      (:answer ->
                         GenServer.reply(from, %{
                           node: :late@nohost,
                           capacity: 1,
                           running: 0,
                           stock: 0
                         }))
        end

        receive do: (:never -> :ok)
      end)

    assert_receive :joined
    eventually(fn -> silent in :pg.get_members(Cluster.scope(), :lacca_nodes) end)
    {micros, loads} = :timer.tc(&Cluster.loads/0)
    assert micros >= 1_000_000 and micros < 2_000_000
    assert Enum.any?(loads, &(&1.node == node()))
    refute Enum.any?(loads, &(&1.node == :late@nohost))

    # The control: the answer is sent, and does not reach this process's mailbox.
    send(silent, :answer)
    refute_receive {_, %{node: :late@nohost}}, 200
    assert Process.info(self(), :messages) == {:messages, []}
    Process.unlink(silent)
    Process.exit(silent, :kill)
  end

  test "a node that leaves takes its sandboxes with it" do
    {peer, node} = lacca_peer(1_000_000)
    marker = marker()

    {:ok, pid} =
      Lacca.start("sh", ["-c", "sleep #{marker} & sleep #{marker} & wait"], node: :auto)

    assert node(pid) == node
    {:ok, %{resin_os_pid: resin, pooled: pooled}} = Lacca.info(pid)
    assert is_boolean(pooled)

    # From the peer's side: its Lacca process runs, and its tree and resin are its own.
    assert running(node) == 1
    eventually(fn -> length(:erpc.call(node, Lacca.Test.OSProcesses, :find, [marker])) == 3 end)
    assert alive?(resin)
    ref = Process.monitor(pid)

    :ok = :peer.stop(peer)

    assert_receive {:DOWN, ^ref, :process, ^pid, :noconnection}, 5_000
    eventually(fn -> find(marker) == [] end, 10_000, "the tree to disappear")
    eventually(fn -> not alive?(resin) end, 10_000, "resin to exit")
    refute Enum.any?(Cluster.loads(), &(&1.node == node))
  end

  test "a node that only disconnects (it lives on) stops the sandboxes it ran for this node" do
    # Controlled through its stdio, the peer survives the loss of its distribution connection.
    code_path = Enum.flat_map(:code.get_path(), &[~c"-pa", &1])

    {:ok, peer, node} =
      :peer.start(%{
        name: :peer.random_name(),
        connection: :standard_io,
        args: code_path ++ [~c"-connect_all", ~c"false"]
      })

    on_exit(fn ->
      try do
        :peer.stop(peer)
      catch
        :exit, _ -> :ok
      end
    end)

    :ok = :peer.call(peer, Application, :put_env, [:lacca, :capacity, 1_000_000])
    {:ok, _} = :peer.call(peer, Application, :ensure_all_started, [:lacca])
    true = Node.connect(node)

    eventually(
      fn -> Enum.any?(Cluster.loads(), &(&1.node == node)) end,
      10_000,
      "#{node} to join"
    )

    marker = marker()

    {:ok, pid} =
      Lacca.start("sh", ["-c", "sleep #{marker} & sleep #{marker} & wait"], node: :auto)

    assert node(pid) == node
    {:ok, %{resin_os_pid: resin}} = Lacca.info(pid)
    eventually(fn -> length(:peer.call(peer, Lacca.Test.OSProcesses, :find, [marker])) == 3 end)
    assert :peer.call(peer, Cluster, :load, []).running == 1
    ref = Process.monitor(pid)

    true = Node.disconnect(node)

    assert_receive {:DOWN, ^ref, :process, ^pid, :noconnection}, 5_000

    # The peer is alive, and its Lacca process ended with the loss of its owner: tree and resin gone.
    eventually(fn -> :peer.call(peer, Cluster, :load, []).running == 0 end)
    eventually(fn -> find(marker) == [] end, 10_000, "the tree to disappear")
    eventually(fn -> not alive?(resin) end, 10_000, "resin to exit")
    assert :peer.call(peer, Node, :self, []) == node
  end
end

defmodule Lacca.Application do
  @moduledoc false
  # lacca's application: the supervision tree of this node's Lacca.Pool and of its place in the
  # cluster (Lacca.Cluster, in a :pg scope of lacca's own). A caller never names it.
  #
  # Nothing in it is needed to run a command: without the application started (`mix test
  # --no-start`, a script that only puts lacca in the code path) every start opens its own resin,
  # as before the pool, and `node: :auto` starts on the local node.

  use Application

  @impl true
  def start(_type, _args) do
    pool = if Lacca.Pool.config().enabled, do: [Lacca.Pool], else: []

    children =
      [%{id: :pg, start: {:pg, :start_link, [Lacca.Cluster.scope()]}}] ++
        pool ++ [Lacca.Cluster]

    # The pool only holds idle resins: if it restarts too often, lacca carries on without it.
    Supervisor.start_link(children,
      strategy: :one_for_one,
      max_restarts: 10,
      max_seconds: 5,
      name: Lacca.Supervisor
    )
  end
end

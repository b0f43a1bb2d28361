defmodule Lacca.Pool.Entry do
  @moduledoc """
  One pooled resin: a port to a `resin --port` that has done its handshake and built the sandbox
  of one config ahead of its command (protocol 3, `Prepare` → `Prepared`), and waits for `Start`.

  This module is the seam between `Lacca.Pool` and the protocol: everything that depends on what
  resin does ahead of a command lives here, and the pool's bookkeeping and `Lacca.Server` only
  call these functions.

    * `key/1` — which stock a start draws from: `{:prepared, config_json}`, one stock per config
      (the canonical JSON of `Lacca.Config.to_json/2`, without the `:cd` and `:env` a `Start`
      carries: `Lacca.Options`' `prepared_json`).
    * `open/2` — spawns resin and sends `Hello(3)`, then `Prepare(config_json)`.
    * `handle_packet/2` — follows the replies: the entry is ready once `HelloReply` and then
      `Prepared` have come (`next_id` follows both request ids). An `ErrorReport` to `Prepare` is
      `{:refused, error}`: resin refuses that config (it is invalid, or this host cannot enforce
      it), so the pool disarms that stock; starts with the config take the unpooled path and get
      the same refusal from `StartProcess`. Anything else is `{:error, error}`: this resin cannot
      be used.
    * `start_packet/4` — the packet that starts a command in a taken entry:
      `Start(executable, args, env, cwd)`, with the start's `:env` and `:cd` (the sandbox is built).

  `Lacca.Server` sends `SetShutdownGrace` and `GrantCredit` after taking an entry (both are per
  start, and resin accepts them in `prepared`), then `start_packet/4`'s packet. If the entry's
  resin died before it answered, the server starts again on a resin of its own with
  `StartProcess` and the whole config.

  In `prepared` resin sends nothing until it is asked (see `docs/protocol.md`, Session), so an
  idle entry's port carries no message but its exit: the pool can hand a port over with
  `Port.connect/2` without a packet lost or misrouted. Closing the port of an idle entry makes
  resin tear its sandbox down (every process in it killed, its cgroup removed) and exit.

      iex> Lacca.Pool.Entry.key(~s({"extends":"default"}))
      {:prepared, ~s({"extends":"default"})}
      iex> {:ok, opts} = Lacca.Options.validate(env: [{"LANG", "C"}], cd: "/tmp")
      iex> entry = %Lacca.Pool.Entry{key: Lacca.Pool.Entry.key(opts.prepared_json)}
      iex> Lacca.Pool.Entry.start_packet(entry, 3, {"true", []}, opts)
      {:start, 3, "true", [], ["LANG=C"], "/tmp"}
  """

  alias Lacca.{Error, Protocol, Resin}

  @typedoc "Which stock an entry belongs to: the config resin has prepared its sandbox for."
  @type key :: {:prepared, config_json :: String.t()}

  @typedoc """
  An entry: its port, the resin it runs, what it waits for (`:hello_reply`, then `:prepared`, then
  `:ready` to be taken), the `HelloReply` features, the next request id for its new owner, and when
  it became ready (monotonic ms).
  """
  @type t :: %__MODULE__{
          port: port() | nil,
          path: String.t() | nil,
          key: key() | nil,
          os_pid: non_neg_integer() | nil,
          features: %{String.t() => String.t()},
          next_id: pos_integer(),
          stage: :hello_reply | :prepared | :ready,
          ready_at: integer() | nil
        }

  defstruct [
    :port,
    :path,
    :key,
    :os_pid,
    :ready_at,
    stage: :hello_reply,
    features: %{},
    next_id: 1
  ]

  @hello_id 1
  @prepare_id 2

  @doc "The stock a start whose prepared config is `config_json` draws from."
  @spec key(String.t()) :: key()
  def key(config_json) when is_binary(config_json), do: {:prepared, config_json}

  @doc """
  Whether a sandbox for `config_json` may be prepared ahead: not when the config binds host paths
  of its own or extends a profile file by path (see `Lacca.Pool`, Stocks), whose state a prepared
  sandbox would capture early. Errs towards the unpooled path.

      iex> Lacca.Pool.Entry.poolable?(~s({"extends":"default","limits":{"wall_time_ms":5000}}))
      true
      iex> Lacca.Pool.Entry.poolable?(~s({"extends":"build","filesystem":{"mounts":[{"path":"/job"}]}}))
      false
      iex> Lacca.Pool.Entry.poolable?(~s({"extends":"/etc/lacca/job.json"}))
      false
  """
  @spec poolable?(String.t()) :: boolean()
  def poolable?(config_json) when is_binary(config_json) do
    not String.contains?(config_json, ~s("mounts")) and
      not Regex.match?(~r/"extends":"[^"]*[\/.]/, config_json)
  end

  @doc """
  Spawns `resin --port` at `path` and sends `Hello`, then `Prepare` with the key's config. resin
  reads them in order: `Prepare` waits for no reply.

  The caller owns the port.
  """
  @spec open(String.t(), key()) :: {:ok, t()} | {:error, Error.t()}
  def open(path, {:prepared, config_json} = key) do
    with {:ok, port} <- Resin.open(path) do
      entry = %__MODULE__{port: port, path: path, key: key, os_pid: Resin.os_pid(port)}
      send_packet(port, {:hello, @hello_id, Protocol.version()})
      send_packet(port, {:prepare, @prepare_id, config_json})
      {:ok, entry}
    end
  end

  # A resin that has already exited closes its port, and writing to it raises: its exit is then
  # on its way to the port's owner, which discards the entry.
  defp send_packet(port, packet) do
    Port.command(port, Protocol.encode_iodata(packet))
  rescue
    ArgumentError -> :ok
  end

  @doc """
  Follows a packet from an entry's resin before it is ready: `{:waiting, entry}` after
  `HelloReply`, `{:ready, entry}` once `Prepared` has come and it can be taken, `{:refused, error}`
  if resin refused to prepare the config (disarm its stock), `{:error, error}` if the resin cannot
  be used (discard it).
  """
  @spec handle_packet(t(), binary()) ::
          {:waiting, t()} | {:ready, t()} | {:refused, Error.t()} | {:error, Error.t()}
  def handle_packet(%__MODULE__{stage: stage} = entry, packet) do
    version = Protocol.version()

    case {stage, Protocol.decode(packet)} do
      {:hello_reply, {:ok, {:hello_reply, @hello_id, ^version, features}}} ->
        {:waiting, %{entry | features: Map.new(features), stage: :prepared}}

      {:hello_reply, {:ok, {:hello_reply, _, other, _}}} ->
        {:error,
         Error.new(:version_mismatch, "resin speaks protocol version #{other}",
           details: %{resin_version: other}
         )}

      {:prepared, {:ok, {:prepared, @prepare_id}}} ->
        {:ready,
         %{
           entry
           | stage: :ready,
             next_id: @prepare_id + 1,
             ready_at: System.monotonic_time(:millisecond)
         }}

      {:prepared, {:ok, {:error_report, @prepare_id, %{fatal: false} = report}}} ->
        {:refused, Error.from_report(report)}

      {_, {:ok, {:error_report, _, report}}} ->
        {:error, Error.from_report(report)}

      {_, other} ->
        {:error, Error.new(:unexpected_packet, "resin sent #{inspect(other)} before a command")}
    end
  end

  @doc """
  The packet that starts `{executable, args}` in a taken entry, with request id `id`: `Start`,
  with the `:env` entries and `:cd` that `opts` (`Lacca.Options.t()`) left out of the prepared
  config.
  """
  @spec start_packet(t(), Protocol.request_id(), {String.t(), [String.t()]}, map()) ::
          Protocol.packet()
  def start_packet(%__MODULE__{key: {:prepared, _}}, id, {executable, args}, opts),
    do: {:start, id, executable, args, opts.start_env, opts.start_cwd}

  @doc "Closes an entry's port; resin tears down the sandbox it prepared, which runs nothing, and exits."
  @spec close(t()) :: :ok
  def close(%__MODULE__{port: port}) do
    Port.close(port)
    :ok
  catch
    :error, :badarg -> :ok
  end
end

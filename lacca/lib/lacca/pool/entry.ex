defmodule Lacca.Pool.Entry do
  @moduledoc """
  One pooled resin: a port to a `resin --port` that has done its handshake and waits for a command.

  This module is the seam between `Lacca.Pool` and the protocol. Everything that depends on what
  resin can do ahead of a command lives here, so that prepared sandboxes (issue 14, item 2) slot in
  without touching the pool's bookkeeping or `Lacca.Server`:

    * `key/1` — which stock a start draws from. With protocol 2 a resin knows nothing of its
      sandbox until `StartProcess` carries the config, so every config shares one **generic**
      stock: `key/1` returns `:generic`. Once resin grows `Prepare(config) → Prepared`, it returns
      `{:prepared, config_json}` for the configs resin can prepare (the canonical JSON of
      `Lacca.Config.to_json/2`), and the pool keeps one stock per config.
    * `open/2` — spawns resin and sends what the entry needs before it is ready: `Hello` today;
      `Hello` then `Prepare(config)` for a prepared key.
    * `handle_packet/2` — follows the replies: `HelloReply` makes a generic entry ready; a prepared
      entry will wait for `Prepared` as well.
    * `start_packet/5` — the packet that starts a command in a taken entry: `StartProcess` with
      the config today; `Start(executable, args)` (no config: it is built already) for a prepared one.

  When resin speaks `Prepare` (negotiated in `Hello`), the changes are all here:

    1. `key/1` returns `{:prepared, config_json}` (for every config, or those resin says it can
       prepare);
    2. `open/2` for such a key sends `Hello`, then `Prepare(config_json)`;
    3. `handle_packet/2` waits for `HelloReply` and then `Prepared` (`next_id` after both ids); an
       `ErrorReport` to `Prepare` (a config resin refuses) is `{:error, _}`, and the pool should
       then disarm that stock rather than back off for every stock (`Lacca.Pool`'s `failed/2`):
       starts with that config take today's path and get the refusal from `StartProcess`;
    4. `start_packet/5` returns `Start(executable, args)`.

  `Lacca.Server` already sends `SetShutdownGrace` and `GrantCredit` after taking an entry (both
  are per start) and then `start_packet/5`'s packet, so it needs no change.

  In the `ready` state resin sends nothing until it is asked (see `docs/protocol.md`, Session), so
  an idle entry's port carries no message but its exit: the pool can hand a port over with
  `Port.connect/2` without a packet lost or misrouted.

      iex> Lacca.Pool.Entry.key(~s({"limits":{}}))
      :generic
      iex> Lacca.Pool.Entry.start_packet(%Lacca.Pool.Entry{key: :generic}, 2, "true", [], "{}")
      {:start_process, 2, "true", [], "{}"}
  """

  alias Lacca.{Error, Protocol, Resin}

  @typedoc """
  Which stock an entry belongs to: `:generic` (handshaken, config-agnostic: protocol 2), or a
  config resin has prepared a sandbox for (when resin speaks `Prepare`).
  """
  @type key :: :generic | {:prepared, config_json :: String.t()}

  @typedoc """
  An entry: its port, the resin it runs, the `HelloReply` features once ready, the next request id
  for its new owner, and when it became ready (monotonic ms).
  """
  @type t :: %__MODULE__{
          port: port() | nil,
          path: String.t() | nil,
          key: key() | nil,
          os_pid: non_neg_integer() | nil,
          features: %{String.t() => String.t()},
          next_id: pos_integer(),
          ready_at: integer() | nil
        }

  defstruct [:port, :path, :key, :os_pid, :ready_at, features: %{}, next_id: 1]

  @hello_id 1

  @doc "The stock a start with `config_json` draws from: `:generic` for protocol 2."
  @spec key(String.t()) :: key()
  def key(_config_json), do: :generic

  @doc """
  Spawns `resin --port` at `path` and sends the packets its `key` needs before it can be taken.

  The caller owns the port.
  """
  @spec open(String.t(), key()) :: {:ok, t()} | {:error, Error.t()}
  def open(path, :generic = key) do
    with {:ok, port} <- Resin.open(path) do
      Port.command(port, Protocol.encode_iodata({:hello, @hello_id, Protocol.version()}))
      {:ok, %__MODULE__{port: port, path: path, key: key, os_pid: Resin.os_pid(port)}}
    end
  end

  @doc """
  Follows a packet from an entry's resin before it is ready: `{:ready, entry}` once it can be
  taken, `{:error, error}` if it cannot be used (discard it).
  """
  @spec handle_packet(t(), binary()) :: {:ready, t()} | {:error, Error.t()}
  def handle_packet(%__MODULE__{key: :generic} = entry, packet) do
    version = Protocol.version()

    case Protocol.decode(packet) do
      {:ok, {:hello_reply, @hello_id, ^version, features}} ->
        {:ready,
         %{
           entry
           | features: Map.new(features),
             next_id: @hello_id + 1,
             ready_at: System.monotonic_time(:millisecond)
         }}

      {:ok, {:hello_reply, _, other, _}} ->
        {:error,
         Error.new(:version_mismatch, "resin speaks protocol version #{other}",
           details: %{resin_version: other}
         )}

      {:ok, {:error_report, _, report}} ->
        {:error, Error.from_report(report)}

      other ->
        {:error, Error.new(:unexpected_packet, "resin sent #{inspect(other)} before a command")}
    end
  end

  @doc """
  The packet that starts `executable` in a taken entry, with request id `id`: `StartProcess` with
  the config for a generic entry. (A prepared entry will send `Start`, its config being built.)
  """
  @spec start_packet(t(), Protocol.request_id(), String.t(), [String.t()], String.t()) ::
          Protocol.packet()
  def start_packet(%__MODULE__{key: :generic}, id, executable, args, config_json),
    do: {:start_process, id, executable, args, config_json}

  @doc "Closes an entry's port; resin, which runs nothing yet, exits."
  @spec close(t()) :: :ok
  def close(%__MODULE__{port: port}) do
    Port.close(port)
    :ok
  catch
    :error, :badarg -> :ok
  end
end

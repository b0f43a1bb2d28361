defmodule Lacca.Error do
  @moduledoc """
  Why a lacca call failed: returned as `{:error, %Lacca.Error{}}`, and raisable.

  `reason` is an atom to match on; `message` is one line for a human; `json_pointer` names the
  offending config field (RFC 6901) for config errors; `details` carries what else is known.

      iex> {:error, error} = Lacca.start("sleep", ["1"], config: [limits: [memory_bytes: 12]])
      iex> {error.reason, error.json_pointer}
      {:invalid_config, "/limits/memory_bytes"}
      iex> {:error, %Lacca.Error{reason: :executable_not_found}} = Lacca.start("no-such-command")

  Match on the reason:

      case Lacca.start("sleep", ["1"], config: [limits: [memory_bytes: 12]]) do
        {:ok, pid} -> pid
        {:error, %Lacca.Error{reason: :invalid_config, json_pointer: pointer, message: message}} ->
          raise "bad config at \#{pointer}: \#{message}"
      end

  ## Reasons reported by resin

  These are the protocol's error codes (`docs/protocol.md`):

    * `:invalid_config` — the config does not validate; `json_pointer` says where.
    * `:unsupported_config` — a valid config asks for a restriction this host cannot enforce; resin
      fails closed rather than run without it.
    * `:executable_not_found` — the command does not exist in the sandbox (or in its `PATH`).
    * `:permission_denied` — the command exists but cannot be executed.
    * `:spawn_failed` — building the sandbox or starting the command failed.
    * `:version_mismatch` — lacca and resin speak different protocol versions (also detected by
      lacca from resin's reply); rebuild both from the same sources.
    * `:invalid_request` — a well-formed request with an invalid value (a NUL byte in an argument).
    * `:no_process` — a request about a process that is not running (it has exited).
    * `:stdin_closed` — `Lacca.write_stdin/3` after `Lacca.close_stdin/1`.
    * `:stdin_broken` — the command can no longer read its stdin (it closed it or exited); what was
      still queued is discarded, and `details.written` says how much of the write went through.
    * `:stdin_overflow` — a write beyond resin's stdin credit; lacca never sends one, so this is a
      bug.
    * `:malformed_packet`, `:packet_too_large`, `:unknown_packet_type`, `:unexpected_packet`,
      `:internal_error` — a protocol or resin failure; these indicate a bug.

  ## Reasons of lacca's own

    * `:resin_not_found` — the resin executable is missing or cannot be run (`details.path`).
    * `:resin_exited` — resin exited before reporting how the command ended (`details.exit_status`).
    * `:resin_crashed` — resin was killed by a signal (`details.signal`), e.g. `kill -9`. Its
      sandbox dies with it.
    * `:timeout` — the call's timeout passed; nothing was lost, the call may be repeated. For
      `Lacca.write_stdin/3`, `details.written` is how much of the data went through.
    * `:noproc` — the Lacca process is not alive (it was stopped, or its owner exited).
    * `:not_buffered` — `read_stdout/2` or `read_stderr/2` on a process whose output is streamed
      or discarded.
  """

  alias Lacca.Protocol

  defexception [:reason, :message, json_pointer: nil, details: %{}]

  @typedoc "What went wrong: one of the protocol's error codes, or one of lacca's own (above)."
  @type reason ::
          Protocol.error_code()
          | :resin_not_found
          | :resin_exited
          | :resin_crashed
          | :timeout
          | :noproc
          | :not_buffered

  @typedoc "A lacca error."
  @type t :: %__MODULE__{
          reason: reason(),
          message: String.t(),
          json_pointer: String.t() | nil,
          details: map()
        }

  @doc """
  Builds an error; `opts` may set `:json_pointer` and `:details`.

      iex> Lacca.Error.new(:timeout, "no output within 50 ms") |> Exception.message()
      "timeout: no output within 50 ms"
      iex> Lacca.Error.new(:invalid_config, "unknown key", json_pointer: "/limits/memroy_bytes")
      ...> |> Exception.message()
      "invalid_config: /limits/memroy_bytes: unknown key"
  """
  @spec new(reason(), String.t(), keyword()) :: t()
  def new(reason, message, opts \\ []) do
    %__MODULE__{
      reason: reason,
      message: message,
      json_pointer: opts[:json_pointer],
      details: Keyword.get(opts, :details, %{})
    }
  end

  @doc "Converts resin's `ErrorReport` into an error."
  @spec from_report(Protocol.error_report()) :: t()
  def from_report(%{code: code, message: message, json_pointer: pointer, fatal: fatal}) do
    %__MODULE__{
      reason: code,
      message: message,
      json_pointer: if(pointer == "", do: nil, else: pointer),
      details: %{fatal: fatal}
    }
  end

  @impl true
  @spec message(t()) :: String.t()
  def message(%__MODULE__{reason: reason, message: message, json_pointer: pointer})
      when pointer in [nil, ""],
      do: "#{reason}: #{message}"

  def message(%__MODULE__{reason: reason, message: message, json_pointer: pointer}),
    do: "#{reason}: #{pointer}: #{message}"
end

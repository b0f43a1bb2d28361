defmodule Lacca.Exit do
  @moduledoc """
  How a sandboxed command ended, with the resources it used.

  resin reports the exit only after every byte of output has been delivered, so by the time you
  hold a `Lacca.Exit` no output is still on its way.

      iex> {:ok, pid} = Lacca.start("sh", ["-c", "exit 3"])
      iex> {:ok, %Lacca.Exit{reason: :exited, exit_code: 3, signal: nil}} = Lacca.await_exit(pid)
      iex> {:ok, pid} = Lacca.start("sleep", ["10"])
      iex> {:ok, exit} = Lacca.stop(pid)
      iex> {exit.reason, Lacca.Signal.name(exit.signal), Lacca.Exit.status(exit)}
      {:killed, :sigterm, 143}

  The usage depends on the host and the moment, so match on its shape:

      iex> {:ok, %Lacca.Result{exit: exit}} = Lacca.run("true")
      iex> %{wall_us: wall_us, cpu_user_us: _, cpu_system_us: _} = exit.usage
      iex> is_integer(wall_us)
      true

  Fields:

    * `reason` — why it ended:
      * `:exited` — it exited on its own; `exit_code` is set;
      * `:signaled` — a signal lacca did not send ended it (a crash, or a signal from inside);
      * `:killed` — `Lacca.kill/2` or `Lacca.stop/2` ended it;
      * `:wall_time_limit`, `:cpu_time_limit`, `:memory_limit` — the config's limit ended it;
      * `:seccomp` — it made a system call the profile denies (`detail` names it);
      * `:unknown` — a reason this version of lacca does not know.
    * `exit_code` — the exit code (0–255) when it exited, else `nil`.
    * `signal` — the number of the signal that ended it, else `nil` (`Lacca.Signal.name/1` names it).
    * `core_dumped` — whether it dumped core.
    * `detail` — free text refining the reason (which limit, which system call); may be `""`.
    * `usage` — the whole process tree's `wall_us` (wall-clock time), `cpu_user_us` and
      `cpu_system_us` (CPU time), `peak_memory_bytes` and `peak_processes` (`nil` when the host
      cannot measure them).
    * `os_pid` — the host pid the command had (for logs).
  """

  alias Lacca.Protocol

  @enforce_keys [:reason]
  defstruct [:reason, :exit_code, :signal, :os_pid, core_dumped: false, detail: "", usage: %{}]

  @typedoc "Why the command ended (see the module doc)."
  @type reason :: Protocol.exit_reason() | :unknown

  @typedoc "What the whole process tree used; `nil` where the host cannot measure it."
  @type usage :: %{
          wall_us: non_neg_integer(),
          cpu_user_us: non_neg_integer(),
          cpu_system_us: non_neg_integer(),
          peak_memory_bytes: non_neg_integer() | nil,
          peak_processes: non_neg_integer() | nil
        }

  @typedoc "How a command ended."
  @type t :: %__MODULE__{
          reason: reason(),
          exit_code: 0..255 | nil,
          signal: 1..255 | nil,
          core_dumped: boolean(),
          detail: String.t(),
          usage: usage(),
          os_pid: non_neg_integer() | nil
        }

  @doc "Builds the exit from resin's `ExitStatus` fields and the command's host pid."
  @spec from_status(Protocol.exit_status(), non_neg_integer() | nil) :: t()
  def from_status(status, os_pid) do
    signaled? = status.signal != 0

    %__MODULE__{
      reason: if(status.reason in Protocol.exit_reasons(), do: status.reason, else: :unknown),
      exit_code: if(signaled?, do: nil, else: status.exit_code),
      signal: if(signaled?, do: status.signal, else: nil),
      core_dumped: status.core_dumped,
      detail: status.detail,
      usage: %{
        wall_us: status.wall_us,
        cpu_user_us: status.cpu_user_us,
        cpu_system_us: status.cpu_system_us,
        peak_memory_bytes: unless_zero(status.peak_memory_bytes),
        peak_processes: unless_zero(status.peak_processes)
      },
      os_pid: os_pid
    }
  end

  @doc """
  Whether the command exited on its own with code 0.

      iex> Lacca.Exit.success?(%Lacca.Exit{reason: :exited, exit_code: 0})
      true
      iex> Lacca.Exit.success?(%Lacca.Exit{reason: :memory_limit, signal: 9})
      false
  """
  @spec success?(t()) :: boolean()
  def success?(%__MODULE__{reason: reason, exit_code: code}), do: reason == :exited and code == 0

  @doc """
  The exit as `System.cmd/3` reports it: the exit code, or 128 + the signal's number.

      iex> Lacca.Exit.status(%Lacca.Exit{reason: :killed, signal: 9})
      137
  """
  @spec status(t()) :: non_neg_integer()
  def status(%__MODULE__{signal: signal}) when is_integer(signal), do: 128 + signal
  def status(%__MODULE__{exit_code: code}) when is_integer(code), do: code
  def status(%__MODULE__{}), do: 255

  defp unless_zero(0), do: nil
  defp unless_zero(value), do: value
end

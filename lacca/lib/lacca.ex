defmodule Lacca do
  @moduledoc """
  Runs OS commands in a Linux sandbox, each one bound to an Erlang process.

  An OS process started from the BEAM easily outlives what started it: the port closes but the
  command, or the children it forked, keep running; and it can do anything its user can. lacca runs
  every command under `resin`, a small helper that puts it in a sandbox described by a profile
  (namespaces, read-only mounts, no network, seccomp, resource limits) and kills its **whole process
  tree** when the Erlang process that owns it ends — whether it stops, crashes, or the whole VM is
  killed with `kill -9`.

      {:ok, pid} = Lacca.start("echo", ["hello, world."])
      Lacca.read_stdout(pid)
      # => {:ok, "hello, world.\\n"}
      Lacca.stop(pid)

  Or in one call, like `System.cmd/3`:

      {:ok, %Lacca.Result{stdout: "hi\\n", exit: %Lacca.Exit{exit_code: 0}}} =
        Lacca.run("sh", ["-c", "echo hi"])

  ## One process, one command

  `start/3` starts a Lacca process (a `GenServer`) that opens a port to its own resin, which runs one
  command. The Lacca process is tied to its **owner** (the caller, or `:owner`) like a port: when the
  owner exits, normally or not, the Lacca process ends and the command's process tree is killed.
  `start_link/3` links them as well, and `child_spec/1` puts a command in a supervision tree.

  Commands are resolved through the sandbox's `PATH`; `argv[0]` is the command as given.

  ## Profiles

  The `:config` option chooses the sandbox; it is secure by default (see `Lacca.Config`):

      Lacca.start("make", [], config: :build)
      Lacca.start("curl", ["-sI", "https://example.com"], config: :"network-client")
      Lacca.start("ls", ["/home"], config: :trusted)          # no confinement, lifetime control only
      Lacca.start("sort", [], config: [limits: [memory_bytes: 64 <<< 20, wall_time_ms: 10_000]])
      Lacca.start("job", [], config: "/etc/myapp/job-profile.json")

  ## Output: buffered, streamed or discarded

  Output travels under flow control: resin reads the command's pipes only while lacca has granted
  it credit, so a command that writes faster than it is consumed blocks in `write(2)`, and the BEAM's
  memory stays bounded by the `:window` option (1 MiB by default) per process.

    * `mode: :buffer` (the default) — output is kept until `read_stdout/2` or `read_stderr/2` takes
      it; each read returns everything that arrived since the previous read. Once `:window` bytes
      are unread, the command blocks until you read.
    * `mode: :stream` — the owner receives `{:lacca, pid, {:stdout, data}}` and
      `{:lacca, pid, {:stderr, data}}` messages, then `{:lacca, pid, {:exit, %Lacca.Exit{}}}` (or
      `{:lacca, pid, {:error, %Lacca.Error{}}}` if resin died) as the last one, after which the Lacca
      process ends. Acknowledge what you have processed with `ack/2`: at most `:window` bytes are
      ever sent and not acknowledged, so a slow consumer's mailbox does not grow.
    * `mode: :discard` — output is dropped (a daemon whose output you do not need).

  ## Options

    * `:config` — the sandbox profile, see `Lacca.Config`. Default: the `default` profile.
    * `:mode` — `:buffer`, `:stream` or `:discard`, see above.
    * `:window` — bytes of output lacca lets resin send ahead of the consumer. Default 1 MiB.
    * `:owner` — the process the Lacca process belongs to (and streams to). Default: the caller.
    * `:node` — start the Lacca process (and its resin) on another connected node; every function
      of this module works the same with the pid it returns.
    * `:name` — register the Lacca process under a name, as for `GenServer`.
    * `:on_exit` — `:linger` (default): after the command exits, the Lacca process keeps the
      unread output and the exit until `stop/2` or until its owner exits; in `:stream` mode it ends
      once the exit is delivered. `:stop`: the Lacca process ends when the command does, with reason
      `:normal` if it exited with code 0, else `{:exit, %Lacca.Exit{}}` (or `{:error, %Lacca.Error{}}`),
      so a supervisor sees failures.
    * `:start_timeout` — how long `start/3` waits for the sandbox to start. Default 15 s.
    * `:resin` — the resin executable to use. Default: `config :lacca, :resin_path`, else the one
      `mix compile` built into lacca's `priv/`.

  ## Errors

  Functions return `{:error, %Lacca.Error{}}` rather than raise; `Lacca.Error` lists every reason.
  A config resin refuses, a missing command or an unstartable resin make `start/3` return an error
  and leave the caller alone, linked or not. Invalid options (a typo, a wrong type) raise
  `ArgumentError`.
  """

  alias Lacca.{Error, Exit, Options, Result, Server, Signal}

  @typedoc "A Lacca process, or its registered name."
  @type server :: GenServer.server()

  @default_stop_grace_ms 5_000
  @default_read_timeout 5_000

  @doc """
  Starts `executable` with `args` in a sandbox, owned by the caller (see the module doc's options).

  Returns once the command runs: `{:ok, pid}`, or `{:error, %Lacca.Error{}}` if the config is
  refused, the executable is not found, the sandbox cannot be built or resin cannot run.

      {:ok, pid} = Lacca.start("sleep", ["10"])
      {:error, %Lacca.Error{reason: :executable_not_found}} = Lacca.start("no-such-command")
  """
  @spec start(String.t(), [String.t()], keyword()) :: {:ok, pid()} | {:error, Error.t()}
  def start(executable, args \\ [], opts \\ []), do: do_start(executable, args, opts, false)

  @doc """
  Like `start/3`, and links the Lacca process to the caller.

  A failed start still returns `{:error, %Lacca.Error{}}` without an exit signal to the caller.
  """
  @spec start_link(String.t(), [String.t()], keyword()) :: {:ok, pid()} | {:error, Error.t()}
  def start_link(executable, args \\ [], opts \\ []), do: do_start(executable, args, opts, true)

  defp do_start(executable, args, opts, link?) do
    executable = to_string(executable)
    args = Enum.map(args, &to_string/1)

    with {:ok, options} <- Options.validate(opts) do
      Server.start(executable, args, options, link?)
    end
  end

  @doc """
  A child specification to run a command under a supervisor.

  Takes `[executable, args, opts]`, like `MuonTrap.Daemon`. Under a supervisor the defaults change
  to `on_exit: :stop` (the Lacca process ends with the command, so the supervisor can restart it)
  and `mode: :discard` (nobody reads a supervised command's output); `:id`, `:restart` and
  `:shutdown` in `opts` set those keys of the specification.

      children = [
        {Lacca, ["redis-server", ["--port", "7777"], [config: :trusted, restart: :permanent]]}
      ]
      Supervisor.start_link(children, strategy: :one_for_one)
  """
  @spec child_spec([String.t() | [String.t()] | keyword()]) :: Supervisor.child_spec()
  def child_spec([executable, args, opts]) do
    {spec_opts, opts} = Keyword.split(opts, [:id, :restart, :shutdown])
    opts = opts |> Keyword.put_new(:on_exit, :stop) |> Keyword.put_new(:mode, :discard)

    Supervisor.child_spec(
      %{id: {__MODULE__, executable}, start: {__MODULE__, :start_link, [executable, args, opts]}},
      spec_opts
    )
  end

  def child_spec([executable, args]), do: child_spec([executable, args, []])
  def child_spec([executable]), do: child_spec([executable, [], []])

  @doc """
  Writes `data` to the command's stdin.

  After `close_stdin/1` a write returns `{:error, %Lacca.Error{reason: :stdin_closed}}`. resin queues
  up to 16 MiB for a command that does not read (protocol version 1 has no flow control for stdin);
  a write beyond that is dropped whole. resin reports this asynchronously, so the error
  (`:stdin_overflow`) is returned by the next write, and by every write after it: stdin has a hole.
  """
  @spec write_stdin(server(), iodata()) :: :ok | {:error, Error.t()}
  def write_stdin(server, data), do: call(server, {:write, data})

  @doc "Closes the command's stdin once everything written is delivered, so it sees end-of-file."
  @spec close_stdin(server()) :: :ok | {:error, Error.t()}
  def close_stdin(server), do: call(server, :close_stdin)

  @doc """
  Takes the stdout that has arrived since the previous read (`mode: :buffer`).

  Waits up to `timeout` ms for some output if none is there. Returns `{:ok, data}` (never empty),
  `:eof` once the command has exited and everything was read, or `{:error, %Lacca.Error{}}`
  (`:timeout`, or how resin failed).
  """
  @spec read_stdout(server(), timeout()) :: {:ok, binary()} | :eof | {:error, Error.t()}
  def read_stdout(server, timeout \\ @default_read_timeout),
    do: call(server, {:read, :stdout, timeout})

  @doc "Like `read_stdout/2`, for stderr."
  @spec read_stderr(server(), timeout()) :: {:ok, binary()} | :eof | {:error, Error.t()}
  def read_stderr(server, timeout \\ @default_read_timeout),
    do: call(server, {:read, :stderr, timeout})

  @doc """
  Acknowledges streamed output (`mode: :stream`): the data, or its size in bytes.

  Each acknowledged byte lets resin send one more, so call it once a message is processed.

      receive do
        {:lacca, ^pid, {:stdout, data}} ->
          IO.write(data)
          Lacca.ack(pid, data)
      end
  """
  @spec ack(server(), binary() | non_neg_integer()) :: :ok
  def ack(server, data) when is_binary(data), do: ack(server, byte_size(data))

  def ack(server, bytes) when is_integer(bytes) and bytes >= 0,
    do: GenServer.cast(server, {:ack, bytes})

  @doc """
  Sends `signal` to the command: a number (Linux numbering) or a name such as `:sigterm` or
  `:term`, see `Lacca.Signal`. Default `:sigkill`.
  """
  @spec kill(server(), Signal.t()) :: :ok | {:error, Error.t()}
  def kill(server, signal \\ :sigkill) do
    case Signal.number(signal) do
      {:ok, number} ->
        call(server, {:kill, number})

      :error ->
        {:error, Error.new(:invalid_request, "not a signal: #{inspect(signal)}")}
    end
  end

  @doc """
  Stops the command and its Lacca process: `SIGTERM`, then `SIGKILL` if it has not ended after
  `grace_ms`. Returns how it ended; if it had already exited, returns that exit.

  Output not yet read is discarded, and in `mode: :stream` no message follows the call.
  """
  @spec stop(server(), non_neg_integer()) :: {:ok, Exit.t()} | {:error, Error.t()}
  def stop(server, grace_ms \\ @default_stop_grace_ms)
      when is_integer(grace_ms) and grace_ms in 0..0xFFFFFFFF,
      do: call(server, {:stop, grace_ms})

  @doc """
  Waits until the command has exited, and returns how.

  The exit comes after all output has been delivered: in `mode: :buffer`, a command that has more
  output than `:window` to write cannot exit until you read it.
  """
  @spec await_exit(server(), timeout()) :: {:ok, Exit.t()} | {:error, Error.t()}
  def await_exit(server, timeout \\ :infinity), do: call(server, {:await_exit, timeout})

  @doc """
  What lacca knows about a Lacca process: `:status` (`:running`, `:exited` or `:failed`), the
  command's `:os_pid`, resin's `:resin_os_pid`, `:mode`, `:owner`, `:pending_output` (bytes received
  and not yet read, or streamed and not yet acknowledged), and the `:features` resin reported (what
  this host enforces, by config key).
  """
  @spec info(server()) :: {:ok, map()} | {:error, Error.t()}
  def info(server) do
    with %{} = info <- call(server, :info), do: {:ok, info}
  end

  @doc """
  Runs a command to completion and collects its output, like `System.cmd/3`.

  Takes the options of `start/3` (but `:mode` and `:owner`), and:

    * `:into` — a `Collectable` for stdout, default `""`; use a file stream for large outputs.
    * `:stderr` — `:collect` into a binary (default), `:stdout` to send it into `:into` as well, or
      `:discard`.
    * `:stdin` — iodata written to the command's stdin, which is then closed. Default: stdin is
      closed at once.

  Returns `{:ok, %Lacca.Result{}}` whatever the exit code, or `{:error, %Lacca.Error{}}` when the
  command could not be started or followed. Use `limits: [wall_time_ms: ...]` in `:config` to bound
  its run time.

      {:ok, %Lacca.Result{stdout: "3\\n"}} = Lacca.run("wc", ["-l"], stdin: "a\\nb\\nc\\n")
      {:ok, result} = Lacca.run("head", ["-c", "1000000000", "/dev/zero"], into: File.stream!("/tmp/z"))
  """
  @spec run(String.t(), [String.t()], keyword()) :: {:ok, Result.t()} | {:error, Error.t()}
  def run(executable, args \\ [], opts \\ []) do
    {into, opts} = Keyword.pop(opts, :into, "")
    {stderr, opts} = Keyword.pop(opts, :stderr, :collect)
    {stdin, opts} = Keyword.pop(opts, :stdin, "")

    unless stderr in [:collect, :stdout, :discard] do
      raise ArgumentError, "option :stderr must be :collect, :stdout or :discard"
    end

    opts = Keyword.merge(opts, mode: :stream, owner: self())

    with {:ok, pid} <- start(executable, args, opts) do
      Result.collect(
        pid,
        stdin,
        into,
        stderr,
        Keyword.get(opts, :window, Options.default_window())
      )
    end
  end

  defp call(server, request) do
    GenServer.call(server, request, :infinity)
  catch
    :exit, reason ->
      {:error, Error.new(:noproc, "the Lacca process is not alive", details: %{exit: reason})}
  end
end

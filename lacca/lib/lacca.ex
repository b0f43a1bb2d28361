defmodule Lacca do
  @moduledoc """
  Runs OS commands in a Linux sandbox, each one bound to an Erlang process.

  An OS process started from the BEAM easily outlives what started it: the port closes but the
  command, or the children it forked, keep running; and it can do anything its user can. lacca runs
  every command under `resin`, a small helper that puts it in a sandbox described by a profile
  (namespaces, read-only mounts, no network, seccomp, resource limits) and stops its **whole process
  tree** when the Erlang process that owns it ends — whether it stops, crashes, or the whole VM is
  killed with `kill -9`.

  Like `System.cmd/3`:

      iex> Lacca.cmd("echo", ["hello, world."])
      {"hello, world.\\n", 0}

  As a lazy `Stream` of stdout chunks, fed from any `Enumerable`, under flow control both ways:

      iex> Lacca.stream!("tr", ["a-z", "A-Z"], input: ["abc\\n", "def\\n"]) |> Enum.join()
      "ABC\\nDEF\\n"

  Or as a process you talk to:

      iex> {:ok, pid} = Lacca.start("cat")
      iex> Lacca.write_stdin(pid, "hi\\n")
      :ok
      iex> Lacca.read_stdout(pid)
      {:ok, "hi\\n"}
      iex> {:ok, %Lacca.Exit{reason: :killed}} = Lacca.stop(pid)

  ## One process, one command

  `start/3` starts a Lacca process (a `GenServer`) that opens a port to its own resin, which runs one
  command. The Lacca process is tied to its **owner** (the caller, or `:owner`) like a port: when the
  owner exits, normally or not, the Lacca process ends and the command's process tree is stopped.
  `start_link/3` links them as well, and `child_spec/1` puts a command in a supervision tree.

  Commands are resolved through the sandbox's `PATH`; `argv[0]` is the command as given.

  ## Stopping is graceful, on every path

  `stop/2`, a supervisor's shutdown, the owner's exit and a crash of the Lacca process all stop
  the command the same way: `SIGTERM` to its tree, then `SIGKILL` once `:shutdown_grace_ms`
  (default 5 s) has passed. A command that handles `SIGTERM` gets to finish; one that ignores it is
  gone after the grace. If the BEAM itself dies, resin sees its port close and does the same.

  ## Profiles

  The `:config` option chooses the sandbox; it is secure by default (see `Lacca.Config`, and the
  guide on profiles, `guides/profiles.md`, for what each shipped profile allows and how to extend
  one):

      Lacca.start("make", [], config: :build)
      Lacca.start("curl", ["-sI", "https://example.com"], config: :"network-client")
      Lacca.start("ls", ["/home"], config: :trusted)          # no confinement, lifetime control only
      Lacca.start("sort", [], config: [limits: [memory_bytes: 64 <<< 20, wall_time_ms: 10_000]])
      Lacca.start("job", [], config: "/etc/myapp/job-profile.json")

  `:cd`, `:env` and `:timeout` are shorthands for the config's `filesystem.cwd`, `env.set` and
  `limits.wall_time_ms`, as `System.cmd/3` users expect. `:env`'s entries are merged into the
  config's `env.set`, and a `nil` value is the config's `null`: it drops a variable the profile
  sets (a variable the profile keeps or inherits from resin's environment stays). With the pool,
  `:cd` and `:env` are sent with the command rather than built into the sandbox, to the same
  effect (`Lacca.Pool`).

  ## Flow control, both ways

  **Output** travels under credit: resin reads the command's pipes only while lacca has granted it
  credit, so a command that writes faster than it is consumed blocks in `write(2)`, and the BEAM's
  memory stays bounded by the `:window` option (1 MiB by default) per process.

  **Input** travels under resin's credit: resin grants lacca stdin credit as the command's pipe
  drains (at most 1 MiB is ever queued in resin), and lacca never sends beyond it. `write_stdin/3`
  blocks its caller until its data is accepted: a command that does not read makes the writer
  wait, never drops data.

  ## Output: buffered, streamed, logged or discarded

    * `mode: :buffer` (the default) — output is kept until `read_stdout/2`, `read_stderr/2` or
      `read_any/2` takes it; each read returns everything that arrived since the previous read.
      Once `:window` bytes are unread, the command blocks until you read; `read_any/2` takes
      whichever stream has data, so unread stderr cannot block a reader of stdout for ever.
    * `mode: :stream` — the owner receives `{:lacca, pid, {:stdout, data}}` and
      `{:lacca, pid, {:stderr, data}}` messages, then `{:lacca, pid, {:exit, %Lacca.Exit{}}}` (or
      `{:lacca, pid, {:error, %Lacca.Error{}}}` if resin died) as the last one, after which the Lacca
      process ends. Acknowledge what you have processed with `ack/2`: at most `:window` bytes are
      ever sent and not acknowledged. `stream!/3` does this for you.
    * `mode: :log` — each line goes to `Logger`: stdout at `:log_output`, stderr at `:log_stderr`,
      prefixed by `:log_prefix`, lines longer than `:log_max_line` bytes cut in pieces. The
      default for a supervised command (`child_spec/1`). lacca hands every line to `Logger`, a
      last one without its newline and what a `SIGTERM` handler prints while the Lacca process
      stops the command included; `Logger` may still lose some. It guards itself against overload by dropping events while too many wait
      (Elixir 1.14: once `:discard_threshold`, default 500, are queued for its backends; from
      1.15 on, past the default handler's `:drop_mode_qlen` and `:flush_qlen`), and it truncates a
      message longer than its `:truncate` (default 8096 bytes: keep `:log_max_line` below it).
      Output that must all be kept wants `mode: :stream` or `:buffer`, where the command waits
      for its reader instead.
    * `mode: :discard` — output is dropped.

  ## Options

    * `:config` — the sandbox profile, see `Lacca.Config`. Default: the `default` profile.
    * `:cd`, `:env` (`[{"NAME", "value" | nil}]`), `:timeout` (ms of wall time) — see Profiles.
    * `:mode` — `:buffer`, `:stream`, `:log` or `:discard`, see above.
    * `:stderr_to_stdout` — `true` to deliver stderr as stdout. Default `false`.
    * `:window` — bytes of output lacca lets resin send ahead of the consumer. Default 1 MiB.
    * `:owner` — the process the Lacca process belongs to (and streams to). Default: the caller.
    * `:node` — start the Lacca process (and its resin) on another connected node; every function
      of this module works the same with the pid it returns. `:auto` chooses the connected node
      running lacca with the most headroom, else the local one (see `Lacca.Cluster`).
    * `:pool` — `false` never takes a prepared sandbox from `Lacca.Pool`. Default `true`.
    * `:name` — register the Lacca process under a name, as for `GenServer`.
    * `:shutdown_grace_ms` — how long the command gets between `SIGTERM` and `SIGKILL` when the
      Lacca process ends, its owner exits, its supervisor shuts it down or the VM dies. Default
      5000, at most 3 600 000.
    * `:on_exit` — what the Lacca process does once its command has exited:
      * `:auto` (default) — it ends once nothing is left to take: in `mode: :buffer`, when
        `await_exit/2` has returned the exit and both stdout and stderr have returned `:eof`
        (`read_any/2` returning `:eof` counts for both);
        in `mode: :stream`, once the exit message is sent; in `:log` and `:discard` modes, once
        `await_exit/2` has returned. A later call returns `{:error, %Lacca.Error{reason: :noproc}}`.
      * `:linger` — it keeps the unread output and the exit until `stop/2` or its owner's exit.
      * `:stop` — it ends with the command, with reason `:normal` if it exited with code 0, else
        `{:exit, %Lacca.Exit{}}` (or `{:error, %Lacca.Error{}}`), so a supervisor sees failures.
    * `:log_output`, `:log_stderr` (defaults to `:log_output`), `:log_prefix` (default `""`),
      `:log_max_line` (default 4096) — for `mode: :log`.
    * `:start_timeout` — how long `start/3` waits for the sandbox to start. Default 15 s.
    * `:resin` — the resin executable to use. Default: `config :lacca, :resin_path`, else the one
      `mix compile` built into lacca's `priv/`.

  ## Errors

  Functions return `{:error, %Lacca.Error{}}` rather than raise; `Lacca.Error` lists every reason.
  A config resin refuses, a missing command or an unstartable resin make `start/3` return an error
  and leave the caller alone, linked or not. Wrong arguments (a typo in an option, a wrong type, an
  argv given as one list) raise `ArgumentError` naming the argument, in the caller.
  """

  alias Lacca.{Error, Exit, Options, OutputStream, Result, Signal}

  @typedoc "A Lacca process, or its registered name."
  @type server :: GenServer.server()

  @typedoc """
  Input for a command's stdin: iodata, any `Enumerable` of iodata (written lazily, under stdin
  credit), or a function that takes a `Collectable` sink and writes into it.
  """
  @type input :: iodata() | Enumerable.t() | (Collectable.t() -> term()) | nil

  @default_read_timeout 5_000

  @doc """
  Starts `executable` with `args` in a sandbox, owned by the caller (see the module doc's options).

  Returns once the command runs: `{:ok, pid}`, or `{:error, %Lacca.Error{}}` if the config is
  refused, the executable is not found, the sandbox cannot be built or resin cannot run.

      iex> {:ok, pid} = Lacca.start("sleep", ["10"])
      iex> {:ok, %Lacca.Exit{reason: :killed, signal: 15}} = Lacca.stop(pid)
      iex> {:error, %Lacca.Error{reason: :executable_not_found}} = Lacca.start("no-such-command")
  """
  @spec start(String.t(), [String.t()], [Options.start_option()]) ::
          {:ok, pid()} | {:error, Error.t()}
  def start(executable, args \\ [], opts \\ []), do: do_start(executable, args, opts, false)

  @doc """
  Like `start/3`, and links the Lacca process to the caller.

  A failed start still returns `{:error, %Lacca.Error{}}` without an exit signal to the caller.
  """
  @spec start_link(String.t(), [String.t()], [Options.start_option()]) ::
          {:ok, pid()} | {:error, Error.t()}
  def start_link(executable, args \\ [], opts \\ []), do: do_start(executable, args, opts, true)

  defp do_start(executable, args, opts, link?) do
    {executable, args} = command!(executable, args)

    with {:ok, options} <- Options.validate(opts) do
      Lacca.Cluster.start(executable, args, options, link?)
    end
  end

  defp command!(executable, args) do
    unless is_binary(executable) or (is_atom(executable) and executable not in [nil, true, false]) do
      raise ArgumentError,
            "the executable must be a string, got: #{inspect(executable)}" <>
              if(is_list(executable), do: " (give the arguments as the second argument)", else: "")
    end

    unless is_list(args) and Enum.all?(args, &(is_binary(&1) or is_atom(&1) or is_number(&1))) do
      raise ArgumentError, "args must be a list of strings, got: #{inspect(args)}"
    end

    {to_string(executable), Enum.map(args, &to_string/1)}
  end

  @doc """
  A child specification to run a command under a supervisor.

  Takes `[executable, args, opts]`, like `MuonTrap.Daemon`. Under a supervisor the defaults change:
  the Lacca process ends with the command (`on_exit: :stop`, so the supervisor can restart it), and
  its output goes to `Logger`, stdout at `:info` and stderr at `:warning` (`mode: :log`; set
  `log_output:`, `log_stderr:` and `log_prefix:` to change it, or `mode: :discard`). `:id` and
  `:restart` set those keys of the specification; `:shutdown` is derived from
  `:shutdown_grace_ms`, so that the supervisor waits for the `SIGTERM`, the grace and the `SIGKILL`.

      children = [
        {Lacca, ["redis-server", ["--port", "7777"],
                 [config: :trusted, restart: :permanent, log_prefix: "redis: "]]}
      ]
      Supervisor.start_link(children, strategy: :one_for_one)

  The specification, with the supervised defaults filled in:

      iex> %{id: {Lacca, "sleep"}, shutdown: 3_000, start: {Lacca, :start_link, ["sleep", ["60"], opts]}} =
      ...>   Lacca.child_spec(["sleep", ["60"], [shutdown_grace_ms: 2_000]])
      iex> Keyword.take(opts, [:on_exit, :mode, :log_output, :log_stderr]) |> Enum.sort()
      [log_output: :info, log_stderr: :warning, mode: :log, on_exit: :stop]
  """
  @spec child_spec([String.t() | [String.t()] | [Options.child_option()]]) ::
          Supervisor.child_spec()
  def child_spec([executable, args, opts]) do
    {spec_opts, opts} = Options.child_spec!(opts)

    Supervisor.child_spec(
      %{id: {__MODULE__, executable}, start: {__MODULE__, :start_link, [executable, args, opts]}},
      spec_opts
    )
  end

  def child_spec([executable, args]), do: child_spec([executable, args, []])
  def child_spec([executable]), do: child_spec([executable, [], []])

  @doc """
  Writes `data` to the command's stdin, blocking until resin has accepted all of it.

  resin accepts stdin as the command reads it (it grants credit as the pipe drains), so a command
  that does not read makes this call wait: backpressure, never a silent drop. After `timeout` ms
  (default `:infinity`) it returns `{:error, %Lacca.Error{reason: :timeout}}` with
  `details.written`, the bytes that went through: a write of up to 64 KiB is all or nothing, a
  larger one goes in whole 64 KiB units (as many per packet as the credit allows), so `written` is
  a multiple of 64 KiB and no unit is half-written.

  After `close_stdin/1` a write returns `:stdin_closed`; once the command can no longer read
  (it closed its stdin or exited) it returns `:stdin_broken` or `:no_process`.

      iex> {:ok, pid} = Lacca.start("sleep", ["10"])
      iex> {:error, %Lacca.Error{reason: :timeout, details: %{written: written}}} =
      ...>   Lacca.write_stdin(pid, :binary.copy("x", 4_000_000), 500)
      iex> written < 4_000_000
      true
      iex> {:ok, _} = Lacca.stop(pid)
  """
  @spec write_stdin(server(), iodata(), timeout()) :: :ok | {:error, Error.t()}
  def write_stdin(server, data, timeout \\ :infinity) do
    data = data |> Options.iodata!(:data) |> IO.iodata_to_binary()
    call(server, {:write, data, Options.call_timeout!(timeout)})
  end

  @doc "Closes the command's stdin once everything written is delivered, so it sees end-of-file."
  @spec close_stdin(server()) :: :ok | {:error, Error.t()}
  def close_stdin(server), do: call(server, :close_stdin)

  @doc """
  A `Collectable` writing into a running command's stdin, under stdin credit: each element waits
  until it is accepted, and stdin is closed when the collection is done (unless `close: false`).

      iex> {:ok, pid} = Lacca.start("wc", ["-c"])
      iex> Stream.repeatedly(fn -> "0123456789" end) |> Stream.take(1000) |> Enum.into(Lacca.stdin(pid))
      iex> Lacca.read_stdout(pid)
      {:ok, "10000\\n"}

  A write that fails raises `Lacca.Error`.
  """
  @spec stdin(server(), keyword()) :: Lacca.Stdin.t()
  def stdin(server, opts \\ []) do
    case Keyword.get(opts, :close, true) do
      close when is_boolean(close) -> %Lacca.Stdin{server: server, close: close}
      other -> raise ArgumentError, "option :close must be a boolean, got: #{inspect(other)}"
    end
  end

  @doc """
  Takes the stdout that has arrived since the previous read (`mode: :buffer`).

  Waits up to `timeout` ms for some output if none is there. Returns `{:ok, data}` (never empty),
  `:eof` once the command has exited and everything was read, or `{:error, %Lacca.Error{}}`
  (`:timeout`, or how resin failed).
  """
  @spec read_stdout(server(), timeout()) :: {:ok, binary()} | :eof | {:error, Error.t()}
  def read_stdout(server, timeout \\ @default_read_timeout),
    do: call(server, {:read, [:stdout], Options.call_timeout!(timeout)})

  @doc "Like `read_stdout/2`, for stderr."
  @spec read_stderr(server(), timeout()) :: {:ok, binary()} | :eof | {:error, Error.t()}
  def read_stderr(server, timeout \\ @default_read_timeout),
    do: call(server, {:read, [:stderr], Options.call_timeout!(timeout)})

  @doc """
  Takes the output of whichever stream has some (stdout first when both do).

  Returns `{:ok, :stdout | :stderr, data}`, `:eof` once the command has exited and both streams
  are read, or `{:error, %Lacca.Error{}}`. Reading with it, a command that fills its stderr while
  you wait for stdout cannot block.

      iex> {:ok, pid} = Lacca.start("sh", ["-c", "echo err >&2"])
      iex> Lacca.read_any(pid)
      {:ok, :stderr, "err\\n"}
      iex> Lacca.read_any(pid)
      :eof
  """
  @spec read_any(server(), timeout()) ::
          {:ok, :stdout | :stderr, binary()} | :eof | {:error, Error.t()}
  def read_any(server, timeout \\ @default_read_timeout),
    do: call(server, {:read, [:stdout, :stderr], Options.call_timeout!(timeout)})

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

  def ack(_server, other),
    do: raise(ArgumentError, "ack takes a binary or a byte count, got: #{inspect(other)}")

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
  Stops the command and its Lacca process: `SIGTERM` to the tree, then `SIGKILL` if it has not
  ended after `grace_ms` (default: the `:shutdown_grace_ms` default, 5 s). Returns how it ended;
  if it had already exited, returns that exit.

  Output not yet read is discarded, and in `mode: :stream` no message follows the call.
  """
  @spec stop(server(), non_neg_integer()) :: {:ok, Exit.t()} | {:error, Error.t()}
  def stop(server, grace_ms \\ Options.default_shutdown_grace_ms()),
    do: call(server, {:stop, Options.grace!(grace_ms)})

  @doc """
  Waits until the command has exited, and returns how.

  The exit comes after all output has been delivered: in `mode: :buffer`, a command that has more
  output than `:window` to write cannot exit until you read it.
  """
  @spec await_exit(server(), timeout()) :: {:ok, Exit.t()} | {:error, Error.t()}
  def await_exit(server, timeout \\ :infinity),
    do: call(server, {:await_exit, Options.call_timeout!(timeout)})

  @doc """
  What lacca knows about a Lacca process: `:status` (`:starting`, `:running`, `:exited` or
  `:failed`), the command's `:os_pid`, resin's `:resin_os_pid`, `:mode`, `:owner`,
  `:pending_output` (bytes received and not yet read, or streamed and not yet acknowledged),
  `:pending_stdin` (bytes written and waiting for stdin credit), the `:features` resin
  reported (what this host enforces, by config key), the `:node` it runs on and whether its resin
  came from `Lacca.Pool` (`:pooled`).
  """
  @spec info(server()) :: {:ok, map()} | {:error, Error.t()}
  def info(server) do
    with %{} = info <- call(server, :info), do: {:ok, info}
  end

  @doc """
  Runs a command to completion and collects its output.

  Takes the options of `start/3` (but `:mode` and `:owner`), and:

    * `:stdin` — the command's input (see `t:input/0`): iodata, an `Enumerable` or a writer
      function, fed under stdin credit while stdout is read, then stdin is closed. Default: stdin
      is closed at once.
    * `:into` — a `Collectable` for stdout, default `""`; use a file stream for large outputs.
    * `:stderr` — `:collect` into a binary (default), `:stdout` to send it into `:into` as well
      (also `stderr_to_stdout: true`), or `:discard`.
    * `:stderr_limit` — at most this many bytes of stderr are kept (the last ones), default 64 KiB;
      the rest is counted in `Lacca.Result`'s `stderr_dropped`.

  Returns `{:ok, %Lacca.Result{}}` whatever the exit code, or `{:error, %Lacca.Error{}}` when the
  command could not be started or followed. A command may exit without reading all of its input,
  as with `System.cmd/3`: `Lacca.Result`'s `stdin` then says how much was written.

      iex> {:ok, %Lacca.Result{stdout: "3\\n", exit: %Lacca.Exit{exit_code: 0}}} =
      ...>   Lacca.run("wc", ["-l"], stdin: "a\\nb\\nc\\n")
      iex> {:ok, %Lacca.Result{stdout: "/tmp\\n"}} = Lacca.run("pwd", [], cd: "/tmp", config: :trusted)
  """
  @spec run(String.t(), [String.t()], [Options.run_option()]) ::
          {:ok, Result.t()} | {:error, Error.t()}
  def run(executable, args \\ [], opts \\ []) do
    {executable, args} = command!(executable, args)
    {run_opts, opts} = Options.run!(opts)
    opts = Keyword.merge(opts, mode: :stream, owner: self())

    with {:ok, pid} <- start(executable, args, opts) do
      Result.collect(pid, run_opts, Keyword.get(opts, :window, Options.default_window()))
    end
  end

  @doc """
  Runs a command like `System.cmd/3`: returns `{output, exit_status}`.

  The status is the exit code, or 128 + the signal's number for a command a signal ended. Takes
  the options of `run/3`; raises `Lacca.Error` if the command cannot be started.

      iex> Lacca.cmd("sh", ["-c", "echo $GREETING; exit 3"], env: [{"GREETING", "hi"}])
      {"hi\\n", 3}
      iex> Lacca.cmd("sh", ["-c", "echo out; echo err >&2"], stderr_to_stdout: true)
      {"out\\nerr\\n", 0}
  """
  @spec cmd(String.t(), [String.t()], [Options.run_option()]) ::
          {Collectable.t(), non_neg_integer()}
  def cmd(executable, args \\ [], opts \\ []) do
    opts = Keyword.put_new(opts, :stderr, :discard)

    case run(executable, args, opts) do
      {:ok, %Result{stdout: stdout, exit: exit}} -> {stdout, Exit.status(exit)}
      {:error, error} -> raise error
    end
  end

  @doc """
  Runs a command as a lazy `Stream` of its stdout chunks, raising on failure.

  Nothing runs until the stream is enumerated. Output is read under credit, as the consumer asks
  for it, so a slow consumer slows the command down instead of filling the BEAM's memory. Options
  are those of `start/3` (but `:mode` and `:owner`), and:

    * `:input` — the command's stdin (see `t:input/0`): iodata, any `Enumerable` (consumed lazily,
      under stdin credit, in a process of its own, so writing never deadlocks against reading) or
      `fn sink -> ... end`, which writes into the `Collectable` `sink`. Without it stdin is closed.
    * `:stderr` — `:consume` (default: read and keep the last 64 KiB for the error), `:discard`,
      `:stdout` (stderr chunks are part of the stream) or `:logger` (logged as warnings, by line).

  Halting early (`Enum.take/2`, `Stream.take/2`, an exception in the consumer) stops the command's
  tree (`SIGTERM`, then `SIGKILL` after `:shutdown_grace_ms`) before the enumeration returns, and
  leaves no process or message behind. A non-zero exit raises `Lacca.ExitError` with the
  `Lacca.Exit` and stderr's tail; a failed start raises `Lacca.Error`. Input the command chooses
  not to read (`head -n 1` on an endless input) is not an error: the writer stops.

      iex> Lacca.stream!("seq", ["1", "1000000"]) |> Stream.flat_map(&String.split/1) |> Enum.take(3)
      ["1", "2", "3"]
      iex> Lacca.stream!("sh", ["-c", "echo oops >&2; exit 2"]) |> Enum.to_list()
      ** (Lacca.ExitError) the command exited with status 2: oops
  """
  @spec stream!(String.t(), [String.t()], [Options.stream_option()]) :: Enumerable.t()
  def stream!(executable, args \\ [], opts \\ []), do: do_stream(executable, args, opts, true)

  @doc """
  Like `stream!/3`, but never raises for how the command ended: the stream ends with
  `{:exit, %Lacca.Exit{}}` (or `{:error, %Lacca.Error{}}`), after the stdout chunks (binaries).

      iex> [out, {:exit, exit}] = Lacca.stream("sh", ["-c", "echo hi; exit 3"]) |> Enum.to_list()
      iex> {out, exit.exit_code}
      {"hi\\n", 3}
  """
  @spec stream(String.t(), [String.t()], [Options.stream_option()]) :: Enumerable.t()
  def stream(executable, args \\ [], opts \\ []), do: do_stream(executable, args, opts, false)

  defp do_stream(executable, args, opts, raise?) do
    {executable, args} = command!(executable, args)
    {stream_opts, opts} = Options.stream!(opts)
    OutputStream.new(executable, args, opts, stream_opts, raise?)
  end

  @spec call(server(), term()) :: term()
  defp call(server, request) do
    GenServer.call(server, request, :infinity)
  catch
    :exit, reason ->
      {:error, Error.new(:noproc, "the Lacca process is not alive", details: %{exit: reason})}
  end
end

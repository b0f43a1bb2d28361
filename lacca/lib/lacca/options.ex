defmodule Lacca.Options do
  @moduledoc """
  Every option of lacca's functions, in one place: their types (for your specs) and their
  validation. What each option does is documented in `Lacca`.

  An option that is not understood, or has the wrong type, raises `ArgumentError` naming it, in
  the caller. A config resin refuses is a runtime error (`{:error, %Lacca.Error{}}`), so the config
  is only encoded here, not judged.

      iex> Lacca.run("cat", [], input: "hi")
      ** (ArgumentError) unknown options: [:input]

      iex> Lacca.start("cat", [], window: 0)
      ** (ArgumentError) option :window must be an integer in 1..4294967295, got: 0

  A config is judged by resin, when the sandbox starts:

      iex> {:error, %Lacca.Error{reason: :invalid_config}} =
      ...>   Lacca.start("cat", [], config: [limits: [wall_time_ms: -1]])

  Use the types in your own specs:

      @spec convert(Path.t(), [Lacca.Options.run_option()]) ::
              {:ok, Lacca.Result.t()} | {:error, Lacca.Error.t()}
      def convert(file, opts \\\\ []), do: Lacca.run("convert", [file, "out.png"], opts)
  """

  alias Lacca.{Config, Credit, Error}

  @default_window 1_048_576
  @default_start_timeout 15_000
  @default_shutdown_grace_ms 5_000
  @max_shutdown_grace_ms 3_600_000
  @default_log_max_line 4_096
  @default_stderr_limit 65_536
  @levels [:emergency, :alert, :critical, :error, :warning, :notice, :info, :debug]

  @typedoc "A Logger level, or `nil` for no logging."
  @type log_level :: Logger.level() | nil

  @typedoc "An option of `Lacca.start/3` (see `Lacca`'s module doc)."
  @type start_option ::
          {:config, Config.t()}
          | {:cd, Path.t()}
          | {:env, [{String.t(), String.t() | nil}] | %{String.t() => String.t() | nil}}
          | {:timeout, pos_integer()}
          | {:mode, :buffer | :stream | :discard | :log}
          | {:window, pos_integer()}
          | {:owner, pid()}
          | {:node, node() | :auto}
          | {:pool, boolean()}
          | {:name, GenServer.name()}
          | {:on_exit, :auto | :linger | :stop}
          | {:resin, Path.t()}
          | {:start_timeout, timeout()}
          | {:shutdown_grace_ms, non_neg_integer()}
          | {:stderr_to_stdout, boolean()}
          | {:log_output, log_level()}
          | {:log_stderr, log_level()}
          | {:log_prefix, String.t()}
          | {:log_max_line, pos_integer()}

  @typedoc "An option of `Lacca.run/3` and `Lacca.cmd/3`: a start option, or one of these."
  @type run_option ::
          start_option()
          | {:into, Collectable.t()}
          | {:stderr, :collect | :stdout | :discard}
          | {:stdin, Lacca.input()}
          | {:stderr_limit, non_neg_integer()}

  @typedoc "An option of `Lacca.stream!/3` and `Lacca.stream/3`: a start option, or one of these."
  @type stream_option ::
          start_option()
          | {:input, Lacca.input()}
          | {:stderr, :consume | :discard | :stdout | :logger}

  @typedoc "An option of `Lacca.child_spec/1`: a start option, `:id` or `:restart`."
  @type child_option ::
          start_option() | {:id, term()} | {:restart, :permanent | :transient | :temporary}

  @typedoc """
  The validated options of a Lacca process (`Lacca.start/3`).

  `config_json` is the whole config, `:cd`, `:env` and `:timeout` included: what `StartProcess`
  carries. A prepared sandbox (`Lacca.Pool`) is built for `prepared_json`, the same config without
  the `:cd` and `:env` it can take in `Start` instead: `start_env` (`"NAME=VALUE"` entries) and
  `start_cwd` (`""` for the config's). Both routes give the command the same environment and
  working directory.
  """
  @type t :: %{
          config_json: String.t(),
          prepared_json: String.t(),
          start_env: [String.t()],
          start_cwd: String.t(),
          mode: :buffer | :stream | :discard | :log,
          window: pos_integer(),
          owner: pid(),
          node: node() | :auto,
          pool: boolean(),
          name: GenServer.name() | nil,
          on_exit: :auto | :linger | :stop,
          resin: String.t() | nil,
          start_timeout: timeout(),
          shutdown_grace_ms: non_neg_integer(),
          stderr_to_stdout: boolean(),
          log_output: log_level(),
          log_stderr: log_level(),
          log_prefix: String.t(),
          log_max_line: pos_integer()
        }

  @typedoc "What `Lacca.run/3` takes on top of the start options."
  @type run :: %{
          into: Collectable.t(),
          stderr: :collect | :stdout | :discard,
          stdin: Lacca.input(),
          stderr_limit: non_neg_integer()
        }

  @typedoc "What `Lacca.stream/3` takes on top of the start options."
  @type stream :: %{input: Lacca.input(), stderr: :consume | :discard | :stdout | :logger}

  # Options mapped onto the sandbox's config rather than kept.
  @config_keys [:config, :cd, :env, :timeout]
  @start_keys @config_keys ++
                [
                  :mode,
                  :window,
                  :owner,
                  :node,
                  :pool,
                  :name,
                  :on_exit,
                  :resin,
                  :start_timeout,
                  :shutdown_grace_ms,
                  :stderr_to_stdout,
                  :log_output,
                  :log_stderr,
                  :log_prefix,
                  :log_max_line
                ]
  @run_keys [:into, :stderr, :stdin, :stderr_limit]
  @stream_keys [:input, :stderr]
  @spec_keys [:id, :restart]

  @doc false
  @spec default_window() :: pos_integer()
  def default_window, do: @default_window

  @doc false
  @spec default_shutdown_grace_ms() :: non_neg_integer()
  def default_shutdown_grace_ms, do: @default_shutdown_grace_ms

  @doc false
  @spec validate(keyword()) :: {:ok, t()} | {:error, Error.t()}
  def validate(opts) do
    keyword!(opts)
    known!(opts, @start_keys)

    {overlay, start_env, start_cwd} = config_overlay(opts)

    with {:ok, json} <-
           Config.to_json(opts[:config], for({path, value, _} <- overlay, do: {path, value})),
         {:ok, prepared_json} <- Config.to_json(opts[:config], prepared_overlay(overlay)) do
      {:ok,
       %{
         config_json: json,
         prepared_json: prepared_json,
         start_env: start_env,
         start_cwd: start_cwd,
         mode: one_of!(opts, :mode, [:buffer, :stream, :discard, :log], :buffer),
         window: window!(opts),
         owner: pid!(opts),
         node: atom!(opts, :node, node(), "a node name (an atom) or :auto"),
         pool: boolean!(opts, :pool, true),
         name: opts[:name],
         on_exit: one_of!(opts, :on_exit, [:auto, :linger, :stop], :auto),
         resin: resin!(opts),
         start_timeout: timeout!(opts, :start_timeout, @default_start_timeout),
         shutdown_grace_ms: shutdown_grace!(opts),
         stderr_to_stdout: boolean!(opts, :stderr_to_stdout, false),
         log_output: level!(opts, :log_output),
         log_stderr: level!(opts, :log_stderr, level!(opts, :log_output)),
         log_prefix: string!(opts, :log_prefix, ""),
         log_max_line: pos_integer!(opts, :log_max_line, @default_log_max_line)
       }}
    end
  end

  @doc false
  @spec run!(keyword()) :: {run(), keyword()}
  def run!(opts) do
    keyword!(opts)
    known!(opts, @run_keys ++ (@start_keys -- [:mode, :owner]))
    {own, start} = Keyword.split(opts, @run_keys)

    stderr =
      if Keyword.get(start, :stderr_to_stdout, false) == true,
        do: :stdout,
        else: one_of!(own, :stderr, [:collect, :stdout, :discard], :collect)

    {%{
       into: collectable!(own),
       stderr: stderr,
       stdin: input!(own, :stdin),
       stderr_limit: non_neg_integer!(own, :stderr_limit, @default_stderr_limit)
     }, Keyword.delete(start, :stderr_to_stdout)}
  end

  @doc false
  @spec stream!(keyword()) :: {stream(), keyword()}
  def stream!(opts) do
    keyword!(opts)
    known!(opts, @stream_keys ++ (@start_keys -- [:mode, :owner]))
    {own, start} = Keyword.split(opts, @stream_keys)

    stderr =
      if Keyword.get(start, :stderr_to_stdout, false) == true,
        do: :stdout,
        else: one_of!(own, :stderr, [:consume, :discard, :stdout, :logger], :consume)

    {%{input: input!(own, :input), stderr: stderr}, Keyword.delete(start, :stderr_to_stdout)}
  end

  @doc false
  @spec child_spec!(keyword()) :: {keyword(), keyword()}
  def child_spec!(opts) do
    keyword!(opts)
    known!(opts, @spec_keys ++ @start_keys)
    {spec, start} = Keyword.split(opts, @spec_keys)
    grace = shutdown_grace!(start)

    start =
      start
      |> Keyword.put_new(:on_exit, :stop)
      |> Keyword.put_new(:mode, :log)
      |> Keyword.put_new(:log_output, :info)
      |> Keyword.put_new(:log_stderr, :warning)

    # The Lacca process needs the grace, then a moment to hear the exit and close its port.
    {Keyword.put(spec, :shutdown, grace + 1_000), start}
  end

  @doc false
  @spec grace!(term()) :: non_neg_integer()
  def grace!(grace) when is_integer(grace) and grace in 0..@max_shutdown_grace_ms, do: grace
  def grace!(other), do: invalid!(:grace_ms, other, "an integer in 0..#{@max_shutdown_grace_ms}")

  @doc false
  @spec call_timeout!(term()) :: timeout()
  def call_timeout!(:infinity), do: :infinity
  def call_timeout!(ms) when is_integer(ms) and ms >= 0, do: ms
  def call_timeout!(other), do: invalid!(:timeout, other, "a timeout in milliseconds")

  @doc false
  @spec iodata!(term(), atom()) :: iodata()
  def iodata!(data, what) do
    _ = IO.iodata_length(data)
    data
  rescue
    ArgumentError -> invalid!(what, data, "iodata")
  end

  ## Mapped onto the config

  # The overlay of the whole config, and the `:env` entries and `:cd` a prepared sandbox's
  # `Start` can carry instead. Each `:env` entry is its own `env.set.NAME`, merged into what the
  # config sets, as the config's own entries merge. An entry moves to `Start` only where `Start`
  # means exactly what the config means, and resin judges it the same: a value (not `nil`, whose
  # `null` in the config only drops what a parent profile set, where `Start` would remove the
  # variable however it came: kept, inherited or the default `PATH`) and a name and value that
  # are valid config strings. Anything else stays in the prepared config, which resin refuses just
  # as it refuses the whole one.
  defp config_overlay(opts) do
    cwd = opts[:cd] && path!(opts[:cd])
    env = opts[:env] && env!(opts[:env])
    wall_time = opts[:timeout] && wall_time!(opts[:timeout])

    env_overlay =
      for {name, value} <- Enum.sort(env || %{}) do
        {["env", "set", name], value, if(startable_env?(name, value), do: "#{name}=#{value}")}
      end

    cwd_overlay =
      if cwd, do: [{["filesystem", "cwd"], cwd, if(startable_path?(cwd), do: cwd)}], else: []

    wall_overlay = if wall_time, do: [{["limits", "wall_time_ms"], wall_time, nil}], else: []
    overlay = cwd_overlay ++ env_overlay ++ wall_overlay

    start_env = for {["env" | _], _, entry} <- overlay, entry != nil, do: entry

    start_cwd =
      case cwd_overlay do
        [{_, _, cwd}] when cwd != nil -> cwd
        _ -> ""
      end

    {overlay, start_env, start_cwd}
  end

  # The whole config's overlay is every triple's path and value; the prepared config's, those
  # `Start` does not carry.
  defp prepared_overlay(overlay),
    do: for({path, value, nil} <- overlay, do: {path, value})

  defp startable_env?(name, value) when is_binary(value),
    do:
      name != "" and config_string?(name) and not String.contains?(name, "=") and
        config_string?(value)

  defp startable_env?(_name, nil), do: false

  defp startable_path?(path), do: config_string?(path) and byte_size(path) < 4096

  defp config_string?(string), do: String.valid?(string) and not String.contains?(string, <<0>>)

  defp path!(path) when is_binary(path), do: Path.expand(path)
  defp path!(other), do: invalid!(:cd, other, "a path (a string)")

  defp env!(env) when is_map(env) or is_list(env) do
    Map.new(env, fn
      {name, value}
      when (is_binary(name) or is_atom(name)) and (is_binary(value) or is_nil(value)) ->
        {to_string(name), value}

      other ->
        invalid!(:env, other, "a list of {name, value | nil} string pairs")
    end)
  end

  defp env!(other), do: invalid!(:env, other, "a list of {name, value} pairs")

  defp wall_time!(ms) when is_integer(ms) and ms > 0, do: ms
  defp wall_time!(other), do: invalid!(:timeout, other, "a positive number of milliseconds")

  ## Checks

  defp keyword!(opts) do
    unless is_list(opts) and Enum.all?(opts, &match?({key, _} when is_atom(key), &1)) do
      raise ArgumentError, "options must be a keyword list, got: #{inspect(opts)}"
    end
  end

  defp known!(opts, known) do
    case Keyword.keys(opts) -- known do
      [] -> :ok
      unknown -> raise ArgumentError, "unknown options: #{inspect(Enum.uniq(unknown))}"
    end
  end

  defp one_of!(opts, key, allowed, default) do
    value = Keyword.get(opts, key, default)
    if value in allowed, do: value, else: invalid!(key, value, "one of #{inspect(allowed)}")
  end

  defp window!(opts) do
    case Keyword.get(opts, :window, @default_window) do
      window when is_integer(window) and window in 1..0xFFFFFFFF -> window
      other -> invalid!(:window, other, "an integer in 1..#{Credit.max_window()}")
    end
  end

  defp pid!(opts) do
    case Keyword.get(opts, :owner, self()) do
      pid when is_pid(pid) -> pid
      other -> invalid!(:owner, other, "a pid")
    end
  end

  defp atom!(opts, key, default, expected) do
    case Keyword.get(opts, key, default) do
      atom when is_atom(atom) -> atom
      other -> invalid!(key, other, expected)
    end
  end

  defp boolean!(opts, key, default) do
    case Keyword.get(opts, key, default) do
      bool when is_boolean(bool) -> bool
      other -> invalid!(key, other, "a boolean")
    end
  end

  defp string!(opts, key, default) do
    case Keyword.get(opts, key, default) do
      string when is_binary(string) -> string
      other -> invalid!(key, other, "a string")
    end
  end

  defp pos_integer!(opts, key, default) do
    case Keyword.get(opts, key, default) do
      n when is_integer(n) and n > 0 -> n
      other -> invalid!(key, other, "a positive integer")
    end
  end

  defp non_neg_integer!(opts, key, default) do
    case Keyword.get(opts, key, default) do
      n when is_integer(n) and n >= 0 -> n
      other -> invalid!(key, other, "a non-negative integer")
    end
  end

  defp level!(opts, key, default \\ nil) do
    case Keyword.get(opts, key, default) do
      level when level in @levels or level == nil -> level
      other -> invalid!(key, other, "a Logger level or nil")
    end
  end

  defp resin!(opts) do
    case Keyword.get(opts, :resin) do
      path when is_binary(path) -> Path.expand(path)
      nil -> nil
      other -> invalid!(:resin, other, "a path")
    end
  end

  defp timeout!(opts, key, default) do
    case Keyword.get(opts, key, default) do
      :infinity -> :infinity
      ms when is_integer(ms) and ms >= 0 -> ms
      other -> invalid!(key, other, "a timeout in milliseconds")
    end
  end

  defp shutdown_grace!(opts) do
    case Keyword.get(opts, :shutdown_grace_ms, @default_shutdown_grace_ms) do
      ms when is_integer(ms) and ms in 0..@max_shutdown_grace_ms -> ms
      other -> invalid!(:shutdown_grace_ms, other, "an integer in 0..#{@max_shutdown_grace_ms}")
    end
  end

  defp collectable!(opts) do
    into = Keyword.get(opts, :into, "")
    if Collectable.impl_for(into), do: into, else: invalid!(:into, into, "a Collectable")
  end

  # Input for stdin: iodata, an Enumerable of iodata, or a writer function taking a sink.
  defp input!(opts, key) do
    case Keyword.get(opts, key) do
      nil -> nil
      fun when is_function(fun, 1) -> fun
      binary when is_binary(binary) -> binary
      list when is_list(list) -> list!(list, key)
      other -> if Enumerable.impl_for(other), do: other, else: invalid!(key, other, input_kinds())
    end
  end

  # A list is iodata, or a list of iodata chunks (checked now: a list is finite).
  defp list!(list, key) do
    if iodata?(list) or Enum.all?(list, &iodata?/1),
      do: list,
      else: invalid!(key, list, input_kinds())
  end

  defp iodata?(data) do
    _ = IO.iodata_length(data)
    true
  rescue
    ArgumentError -> false
  end

  defp input_kinds, do: "iodata, an Enumerable of iodata or a fn sink -> ... end"

  @spec invalid!(atom(), term(), String.t()) :: no_return()
  defp invalid!(key, value, expected) do
    raise ArgumentError, "option #{inspect(key)} must be #{expected}, got: #{inspect(value)}"
  end
end

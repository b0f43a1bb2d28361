defmodule Lacca.Options do
  @moduledoc false
  # Validates the options of Lacca.start/3 and friends in one place. An option that is not
  # understood is a programming error (ArgumentError); a config resin refuses is a runtime one
  # ({:error, %Lacca.Error{}}), so the config is only encoded here, not judged.

  alias Lacca.{Config, Credit, Error}

  @default_window 1_048_576
  @default_start_timeout 15_000

  @type t :: %{
          config_json: String.t(),
          mode: :buffer | :stream | :discard,
          window: pos_integer(),
          owner: pid(),
          node: node(),
          name: GenServer.name() | nil,
          on_exit: :linger | :stop,
          resin: String.t() | nil,
          start_timeout: timeout(),
          protocol_version: non_neg_integer()
        }

  @known [
    :config,
    :mode,
    :window,
    :owner,
    :node,
    :name,
    :on_exit,
    :resin,
    :start_timeout,
    :protocol_version
  ]

  @spec default_window() :: pos_integer()
  def default_window, do: @default_window

  @spec validate(keyword()) :: {:ok, t()} | {:error, Error.t()}
  def validate(opts) when is_list(opts) do
    case Keyword.keys(opts) -- @known do
      [] -> :ok
      unknown -> raise ArgumentError, "unknown options: #{inspect(unknown)}"
    end

    with {:ok, json} <- Config.to_json(opts[:config]) do
      {:ok,
       %{
         config_json: json,
         mode: one_of!(opts, :mode, [:buffer, :stream, :discard], :buffer),
         window: window!(opts),
         owner: pid!(opts),
         node: node!(opts),
         name: opts[:name],
         on_exit: one_of!(opts, :on_exit, [:linger, :stop], :linger),
         resin: resin!(opts),
         start_timeout: timeout!(opts),
         protocol_version: Keyword.get(opts, :protocol_version, Lacca.Protocol.version())
       }}
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

  defp node!(opts) do
    case Keyword.get(opts, :node, node()) do
      node when is_atom(node) -> node
      other -> invalid!(:node, other, "a node name (an atom)")
    end
  end

  defp resin!(opts) do
    case Keyword.get(opts, :resin) do
      path when is_binary(path) -> Path.expand(path)
      nil -> nil
      other -> invalid!(:resin, other, "a path")
    end
  end

  defp timeout!(opts) do
    case Keyword.get(opts, :start_timeout, @default_start_timeout) do
      :infinity -> :infinity
      ms when is_integer(ms) and ms >= 0 -> ms
      other -> invalid!(:start_timeout, other, "a timeout in milliseconds")
    end
  end

  defp invalid!(key, value, expected) do
    raise ArgumentError, "option #{inspect(key)} must be #{expected}, got: #{inspect(value)}"
  end
end

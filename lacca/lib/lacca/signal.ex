defmodule Lacca.Signal do
  @moduledoc """
  Linux signal names and numbers, for `Lacca.kill/2` and `Lacca.Exit`.

  A signal can be given as its number (1–64, Linux numbering as on x86-64 and arm64) or as an atom,
  with or without the `sig` prefix:

      iex> Lacca.Signal.number(:sigterm)
      {:ok, 15}
      iex> Lacca.Signal.number(:kill)
      {:ok, 9}
      iex> Lacca.Signal.number(40)
      {:ok, 40}
      iex> Lacca.Signal.number(:sigwhat)
      :error
      iex> Lacca.Signal.name(9)
      :sigkill
  """

  @signals [
    sighup: 1,
    sigint: 2,
    sigquit: 3,
    sigill: 4,
    sigtrap: 5,
    sigabrt: 6,
    sigbus: 7,
    sigfpe: 8,
    sigkill: 9,
    sigusr1: 10,
    sigsegv: 11,
    sigusr2: 12,
    sigpipe: 13,
    sigalrm: 14,
    sigterm: 15,
    sigstkflt: 16,
    sigchld: 17,
    sigcont: 18,
    sigstop: 19,
    sigtstp: 20,
    sigttin: 21,
    sigttou: 22,
    sigurg: 23,
    sigxcpu: 24,
    sigxfsz: 25,
    sigvtalrm: 26,
    sigprof: 27,
    sigwinch: 28,
    sigio: 29,
    sigpwr: 30,
    sigsys: 31
  ]
  @aliases [sigiot: 6, sigpoll: 29]

  @by_name Map.new(
             for {name, number} <- @signals ++ @aliases,
                 short =
                   name |> Atom.to_string() |> String.trim_leading("sig") |> String.to_atom(),
                 pair <- [{name, number}, {short, number}],
                 do: pair
           )
  @by_number Map.new(@signals, fn {name, number} -> {number, name} end)

  @typedoc "A signal: a Linux signal number or a name such as `:sigterm` or `:term`."
  @type t :: 1..64 | atom()

  @doc "The number of a signal given by name or number; `:error` for an unknown one."
  @spec number(t()) :: {:ok, 1..64} | :error
  def number(signal) when is_integer(signal) and signal in 1..64, do: {:ok, signal}
  def number(signal) when is_atom(signal), do: Map.fetch(@by_name, signal)
  def number(_signal), do: :error

  @doc "The name of a standard signal (`:sigkill` for 9), or the number itself for a real-time one."
  @spec name(1..64) :: atom() | 1..64
  def name(number) when is_integer(number), do: Map.get(@by_number, number, number)
end

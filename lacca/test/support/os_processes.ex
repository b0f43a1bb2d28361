defmodule Lacca.Test.OSProcesses do
  @moduledoc false
  # Finds host processes by a marker in their command line, and waits for conditions with a
  # deadline: how the lifetime tests see that nothing is left behind.

  @doc "A marker to put in a command line: a unique sleep duration in seconds, e.g. `3600.000123`."
  @spec marker() :: String.t()
  def marker do
    micros = System.unique_integer([:positive, :monotonic]) |> rem(1_000_000)
    "3600." <> String.pad_leading(Integer.to_string(micros), 6, "0") <> "#{:rand.uniform(9)}"
  end

  @doc "Host pids of live (not zombie) processes whose command line contains `marker`."
  @spec find(String.t()) :: [pos_integer()]
  def find(marker), do: find_by(&(String.replace(&1, <<0>>, " ") |> String.contains?(marker)))

  @doc """
  Host pids of live processes whose command line is exactly `argv`, e.g. `["sleep", marker]`.

  Unlike `find/1` it does not match a shell whose `-c` script merely mentions the marker, nor a
  child the shell has forked and not yet replaced by `exec`: what it finds has got that far.
  """
  @spec find_argv([String.t()]) :: [pos_integer()]
  def find_argv(argv) do
    # /proc/<pid>/cmdline: each argument followed by a NUL.
    cmdline = Enum.map_join(argv, &(&1 <> <<0>>))
    find_by(&(&1 == cmdline))
  end

  defp find_by(match?) do
    for entry <- File.ls!("/proc"),
        pid = parse_pid(entry),
        pid != nil,
        match?.(cmdline(pid)),
        alive?(pid),
        do: pid
  end

  @doc "Whether a host process exists and is not a zombie."
  @spec alive?(pos_integer()) :: boolean()
  def alive?(pid) do
    case File.read("/proc/#{pid}/stat") do
      {:ok, stat} ->
        # The state follows the parenthesised command name, which may itself contain ") ".
        [_, after_name] = String.split(stat, ") ", parts: 2)
        not String.starts_with?(after_name, ["Z", "X"])

      {:error, _} ->
        false
    end
  end

  @doc """
  Host pids of a process's live descendants (children first), from `/proc/<pid>/task/*/children`:
  what a resin has started, such as its sandbox's init.
  """
  @spec descendants(pos_integer()) :: [pos_integer()]
  def descendants(pid) do
    children =
      case File.ls("/proc/#{pid}/task") do
        {:ok, tasks} ->
          for task <- tasks,
              {:ok, text} <- [File.read("/proc/#{pid}/task/#{task}/children")],
              child <- String.split(text),
              do: String.to_integer(child)

        {:error, _} ->
          []
      end

    children = children |> Enum.uniq() |> Enum.filter(&alive?/1)
    children ++ Enum.flat_map(children, &descendants/1)
  end

  @doc "Polls `fun` until it returns a truthy value, which is returned; flunks after `timeout` ms."
  @spec eventually((() -> value), pos_integer(), String.t()) :: value when value: term()
  def eventually(fun, timeout \\ 10_000, what \\ "condition") do
    deadline = System.monotonic_time(:millisecond) + timeout
    poll(fun, deadline, what)
  end

  defp poll(fun, deadline, what) do
    cond do
      value = fun.() ->
        value

      System.monotonic_time(:millisecond) > deadline ->
        ExUnit.Assertions.flunk("#{what} did not happen in time")

      true ->
        Process.sleep(10)
        poll(fun, deadline, what)
    end
  end

  defp parse_pid(entry) do
    case Integer.parse(entry) do
      {pid, ""} -> pid
      _ -> nil
    end
  end

  # Empty for a kernel thread, and for a process gone meanwhile.
  defp cmdline(pid) do
    case File.read("/proc/#{pid}/cmdline") do
      {:ok, cmdline} -> cmdline
      {:error, _} -> ""
    end
  end
end

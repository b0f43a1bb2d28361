defmodule Lacca.SignalTest do
  use ExUnit.Case, async: true

  alias Lacca.Signal

  test "names with or without the sig prefix, and numbers 1..64" do
    assert Signal.number(:sighup) == {:ok, 1}
    assert Signal.number(:hup) == {:ok, 1}
    assert Signal.number(:sigusr1) == {:ok, 10}
    assert Signal.number(:sigsys) == {:ok, 31}
    assert Signal.number(:iot) == {:ok, 6}
    assert Signal.number(64) == {:ok, 64}
    assert Signal.number(0) == :error
    assert Signal.number(65) == :error
    assert Signal.number("term") == :error
  end

  test "names of numbers" do
    assert Signal.name(15) == :sigterm
    assert Signal.name(6) == :sigabrt
    assert Signal.name(40) == 40
  end
end

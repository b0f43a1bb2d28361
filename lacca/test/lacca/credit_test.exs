defmodule Lacca.CreditTest do
  use ExUnit.Case, async: true

  alias Lacca.Credit

  test "the whole window is granted at first, then nothing until a quarter is free" do
    {granted, credit} = Credit.grant(Credit.new(1000))
    assert granted == 1000
    assert {0, ^credit} = Credit.grant(credit)

    credit = Credit.received(credit, 1000)
    assert {0, _} = Credit.grant(credit)
    assert {0, _} = credit |> Credit.release(249) |> Credit.grant()
    assert {250, _} = credit |> Credit.release(250) |> Credit.grant()
  end

  test "in flight plus held never exceeds the window, whatever the order of events" do
    :rand.seed(:exsss, {1, 2, 3})

    Enum.reduce(1..10_000, {Credit.new(4096), 0}, fn _, {credit, granted_total} ->
      {granted, credit} = Credit.grant(credit)
      assert credit.in_flight + credit.held <= credit.window

      credit =
        case :rand.uniform(2) do
          1 -> Credit.received(credit, :rand.uniform(credit.in_flight + 1) - 1)
          2 -> Credit.release(credit, :rand.uniform(credit.held + 1) - 1)
        end

      assert credit.in_flight + credit.held <= credit.window
      {credit, granted_total + granted}
    end)
  end

  test "drain opens the window fully and forgets what was held" do
    credit = Credit.new(10) |> Credit.grant() |> elem(1) |> Credit.received(10) |> Credit.drain()
    assert credit.held == 0
    assert {granted, _} = Credit.grant(credit)
    assert granted == Credit.max_window()
  end
end

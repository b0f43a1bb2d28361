defmodule Lacca.PoolEntryTest do
  # The pure decisions behind prepared sandboxes: what a start's options leave to Start, and how
  # an entry follows resin's replies. No resin runs here.
  use ExUnit.Case, async: true

  alias Lacca.{Error, Options, Protocol}
  alias Lacca.Pool.Entry

  defp split(opts) do
    {:ok, o} = Options.validate(opts)
    {o.prepared_json, o.start_env, o.start_cwd, o.config_json}
  end

  describe "what Start carries" do
    test "values and an expanded cd go to Start; the prepared config is the bare one" do
      assert {~s({"extends":"default"}), ["A=1", "B=x=y", "E="], "/usr", whole} =
               split(env: %{"B" => "x=y", "A" => "1", "E" => ""}, cd: "/usr/./lib/..")

      assert whole ==
               ~s({"extends":"default","filesystem":{"cwd":"/usr"},) <>
                 ~s("env":{"set":{"A":"1","B":"x=y","E":""}}})
    end

    test "the timeout stays in the prepared config: it is a limit of the sandbox" do
      assert {~s({"extends":"build","limits":{"wall_time_ms":500}}), ["A=1"], "", _} =
               split(config: :build, env: [{"A", "1"}], timeout: 500)
    end

    test "a nil, and what the config would refuse, stay in the prepared config" do
      {prepared, start_env, "", _} =
        split(env: [{"GONE", nil}, {"A=B", "c"}, {"", "v"}, {"NUL", "a\0b"}, {"OK", "1"}])

      assert start_env == ["OK=1"]

      assert prepared ==
               ~s({"extends":"default","env":{"set":{"":"v","A=B":"c","GONE":null,) <>
                 ~s("NUL":"a\\u0000b"}}})
    end

    test "the option's entries merge into the config's env.set on both routes" do
      {prepared, ["B=2"], "", whole} =
        split(config: [env: [set: %{"A" => "1"}]], env: [{"B", "2"}])

      assert prepared == ~s({"extends":"default","env":{"set":{"A":"1"}}})
      assert whole == ~s({"extends":"default","env":{"set":{"A":"1","B":"2"}}})
    end
  end

  describe "an entry following resin's replies" do
    defp packet(term), do: IO.iodata_to_binary(Protocol.encode_iodata(term))
    defp entry, do: %Entry{key: Entry.key(~s({"extends":"default"}))}

    test "HelloReply, then Prepared: ready, the next id after both" do
      {:waiting, e} =
        Entry.handle_packet(entry(), packet({:hello_reply, 1, 3, [{"syscalls", "x"}]}))

      assert {:ready, %Entry{stage: :ready, next_id: 3, features: %{"syscalls" => "x"}} = e} =
               Entry.handle_packet(e, packet({:prepared, 2}))

      assert is_integer(e.ready_at)

      assert Entry.start_packet(e, 3, {"sh", ["-c", ":"]}, %{start_env: ["A=1"], start_cwd: ""}) ==
               {:start, 3, "sh", ["-c", ":"], ["A=1"], ""}
    end

    test "an ErrorReport to Prepare is a refusal of the config; any other, an unusable resin" do
      {:waiting, e} = Entry.handle_packet(entry(), packet({:hello_reply, 1, 3, []}))
      report = %{code: :invalid_config, message: "no", json_pointer: "/limits", fatal: false}

      assert {:refused, %Error{reason: :invalid_config, json_pointer: "/limits"}} =
               Entry.handle_packet(e, packet({:error_report, 2, report}))

      fatal = %{report | code: :version_mismatch, fatal: true, json_pointer: ""}

      assert {:error, %Error{reason: :version_mismatch}} =
               Entry.handle_packet(entry(), packet({:error_report, 1, fatal}))

      assert {:error, %Error{reason: :version_mismatch, details: %{resin_version: 2}}} =
               Entry.handle_packet(entry(), packet({:hello_reply, 1, 2, []}))

      # Out of order: Prepared before HelloReply, a second HelloReply.
      assert {:error, %Error{reason: :unexpected_packet}} =
               Entry.handle_packet(entry(), packet({:prepared, 2}))

      assert {:error, %Error{reason: :unexpected_packet}} =
               Entry.handle_packet(e, packet({:hello_reply, 1, 3, []}))
    end
  end
end

defmodule Lacca.ErrorsTest do
  # Each failure is a distinct, documented reason, returned to the caller without crashing it.
  use ExUnit.Case, async: true

  alias Lacca.Error

  describe "reported by resin" do
    test "an invalid config names the offending field" do
      assert {:error,
              %Error{reason: :invalid_config, json_pointer: "/limits/memory_bytes"} = error} =
               Lacca.start("true", [], config: [limits: [memory_bytes: 5]])

      assert error.message =~ "1048576"
      assert Exception.message(error) =~ "/limits/memory_bytes"
    end

    test "a misspelt key is refused, not ignored" do
      assert {:error, %Error{reason: :invalid_config, json_pointer: "/limits/memroy_bytes"}} =
               Lacca.start("true", [], config: [limits: [memroy_bytes: 1_073_741_824]])
    end

    test "an unknown profile" do
      assert {:error, %Error{reason: :invalid_config, json_pointer: "/extends"}} =
               Lacca.start("true", [], config: :no_such_profile)
    end

    test "a missing executable" do
      assert {:error, %Error{reason: :executable_not_found}} = Lacca.start("no-such-command")
      assert {:error, %Error{reason: :executable_not_found}} = Lacca.start("/usr/bin/no-such")
    end

    test "a file that is not executable" do
      assert {:error, %Error{reason: :permission_denied}} =
               Lacca.start("/etc/passwd", [], config: :trusted)
    end

    test "a NUL byte in an argument" do
      assert {:error, %Error{reason: :invalid_request}} = Lacca.start("echo", ["a\0b"])
    end

    @tag :tmp_dir
    test "a restriction this host cannot enforce fails closed", %{tmp_dir: dir} do
      # resin without the cgroup file system cannot bound CPU bandwidth.
      resin = Lacca.Resin.path(nil) |> elem(1)

      without_cgroups =
        script(dir, "resin-without-cgroups", """
        exec unshare --mount sh -c 'mount -t tmpfs none /sys/fs/cgroup && exec "$0" --port' #{resin}
        """)

      assert {:error, %Error{reason: :unsupported_config, json_pointer: "/limits/cpu_cores"}} =
               Lacca.start("true", [], resin: without_cgroups, config: [limits: [cpu_cores: 0.5]])
    end

    @tag :tmp_dir
    test "a protocol version resin does not speak", %{tmp_dir: dir} do
      # An older resin refuses lacca's Hello with a fatal ErrorReport, then exits.
      report = %{
        code: :version_mismatch,
        fatal: true,
        message: "resin speaks protocol version 1",
        json_pointer: ""
      }

      frame = Lacca.Protocol.frame({:error_report, 1, report})
      octal = for <<byte <- frame>>, into: "", do: "\\" <> Integer.to_string(byte, 8)

      old_resin =
        script(dir, "resin-v1", """
        printf '#{octal}' >&4
        """)

      assert {:error, %Error{reason: :version_mismatch, message: message}} =
               Lacca.start("true", [], resin: old_resin)

      assert message =~ "version 1"
    end
  end

  describe "lacca's own" do
    @tag :tmp_dir
    test "a resin that replies with another protocol version", %{tmp_dir: dir} do
      # HelloReply, request 1, version 4 (lacca speaks 3), no features; then wait for the port
      # to close.
      replies_v4 =
        script(dir, "resin-v4", """
        printf '\\000\\000\\000\\015\\201\\000\\000\\000\\001\\000\\000\\000\\004\\000\\000\\000\\000' >&4
        exec cat <&3 >/dev/null
        """)

      assert {:error, %Error{reason: :version_mismatch, details: %{resin_version: 4}}} =
               Lacca.start("true", [], resin: replies_v4)
    end

    test "no resin at the given path" do
      assert {:error, %Error{reason: :resin_not_found, details: %{path: "/nonexistent/resin"}}} =
               Lacca.start("true", [], resin: "/nonexistent/resin")
    end

    # These fake resins read lacca's first three packets before they end: a packet written to a
    # port whose program has just gone makes it close with epipe, also a :resin_exited, but with
    # no exit status to show.
    @tag :tmp_dir
    test "resin exiting before it answers", %{tmp_dir: dir} do
      resin = script(dir, "resin-exits", "head -c #{first_packets_size()} <&3 >/dev/null; exit 3")

      assert {:error, %Error{reason: :resin_exited, details: %{exit_status: 3}}} =
               Lacca.start("true", [], resin: resin)
    end

    @tag :tmp_dir
    test "resin killed before it answers", %{tmp_dir: dir} do
      resin =
        script(dir, "resin-crashes", "head -c #{first_packets_size()} <&3 >/dev/null; kill -9 $$")

      assert {:error, %Error{reason: :resin_crashed, details: %{signal: 9}}} =
               Lacca.start("true", [], resin: resin)
    end

    test "a config that cannot be encoded, before anything starts" do
      assert {:error, %Error{reason: :invalid_config, json_pointer: "/env/set/HOME"}} =
               Lacca.start("true", [], config: [env: [set: %{"HOME" => self()}]])
    end

    test "a start that does not finish in time" do
      assert {:error, %Error{reason: :timeout}} = Lacca.start("true", [], start_timeout: 0)
    end

    test "invalid options raise" do
      assert_raise ArgumentError, ~r/unknown options/, fn -> Lacca.start("true", [], mdoe: 1) end
      assert_raise ArgumentError, ~r/:mode/, fn -> Lacca.start("true", [], mode: :fast) end
      assert_raise ArgumentError, ~r/:window/, fn -> Lacca.start("true", [], window: 0) end
    end
  end

  test "a failed start_link does not take the caller down" do
    test = self()

    {caller, ref} =
      spawn_monitor(fn ->
        send(test, {:result, Lacca.start_link("no-such-command")})
        send(test, {:result, Lacca.start_link("true", [], config: [limits: [processes: 0]])})
        send(test, {:result, Lacca.start_link("true", [], start_timeout: 0)})
        receive do: (:done -> :ok)
      end)

    assert_receive {:result, {:error, %Error{reason: :executable_not_found}}}, 10_000
    assert_receive {:result, {:error, %Error{reason: :invalid_config}}}, 10_000
    assert_receive {:result, {:error, %Error{reason: :timeout}}}, 10_000
    assert Process.alive?(caller)
    send(caller, :done)
    assert_receive {:DOWN, ^ref, :process, ^caller, :normal}
  end

  # Hello, GrantCredit and StartProcess of `Lacca.start("true")`, with their length prefixes.
  defp first_packets_size do
    {:ok, config} = Lacca.Config.to_json(nil)

    [
      {:hello, 1, 1},
      {:grant_credit, 2, 1},
      {:start_process, 3, "true", [], config}
    ]
    |> Enum.map(&byte_size(Lacca.Protocol.frame(&1)))
    |> Enum.sum()
  end

  defp script(dir, name, body) do
    path = Path.join(dir, name)
    File.write!(path, "#!/bin/sh\n" <> body)
    File.chmod!(path, 0o755)
    path
  end
end

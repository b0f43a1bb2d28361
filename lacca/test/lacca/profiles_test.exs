defmodule Lacca.ProfilesTest do
  # Each shipped profile, used once from Elixir, by name.
  use ExUnit.Case, async: true

  alias Lacca.{Exit, Result}

  # Runs a shell script (with `args` as $1...) and returns its stdout as lines.
  defp run!(script, config, args \\ []) do
    assert {:ok, %Result{exit: %Exit{reason: :exited, exit_code: 0}} = result} =
             Lacca.run("sh", ["-c", script, "sh" | args], config: config)

    String.split(result.stdout, "\n", trim: true)
  end

  # Network interfaces other than loopback, from the process's own network namespace.
  @interfaces "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | grep -v '^lo$' | wc -l"

  test "default: unprivileged, no network, a private /tmp, a cleared environment" do
    assert run!(
             "id -u; pwd; #{@interfaces}; echo $PATH; test -e /home || echo no-home; " <>
               "echo hi > /tmp/x && cat /tmp/x",
             :default
           ) == ["65534", "/tmp", "0", "/usr/local/bin:/usr/bin:/bin", "no-home", "hi"]

    # The default profile is what no config means.
    assert run!("pwd; id -u", nil) == ["/tmp", "65534"]
  end

  test "build: a writable /work as the working directory" do
    assert run!("pwd; echo built > out.txt && cat out.txt; echo $HOME", :build) ==
             ["/work", "built", "/work"]
  end

  test "network-client: the host's network and CA certificates" do
    [interfaces, ssl] = run!("#{@interfaces}; test -d /etc/ssl && echo ssl", :"network-client")
    assert String.to_integer(interfaces) > 0
    assert ssl == "ssl"
  end

  @tag :tmp_dir
  test "trusted: the host's file system and environment, still not root", %{tmp_dir: dir} do
    file = Path.join(dir, "host-file")
    File.write!(file, "from the host\n")
    File.chmod!(file, 0o644)

    assert run!(~s(cat "$1"; id -u; echo "$HOME"), :trusted, [file]) ==
             ["from the host", "65534", System.get_env("HOME")]
  end

  @tag :tmp_dir
  test "a profile file, by path, extending a shipped one", %{tmp_dir: dir} do
    profile = Path.join(dir, "mine.json")
    File.write!(profile, ~s({"extends": "default", "env": {"set": {"GREETING": "hello"}}}))
    assert run!("echo $GREETING", profile) == ["hello"]
  end
end

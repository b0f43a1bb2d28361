defmodule Lacca.OwnershipTest do
  # A job directory handed to a sandbox rw with ownership "directory": what the sandbox writes
  # comes back owned like the directory, byte for byte. Under root (CI) the directory is root's and
  # resin maps the sandbox's uid onto it with an idmapped mount; unprivileged it is the user's own.
  use ExUnit.Case, async: true

  alias Lacca.{Exit, Result}

  @tag :tmp_dir
  test "an rw job directory gets its results back owned like the directory", %{tmp_dir: dir} do
    File.chmod!(dir, 0o755)

    config = %{
      filesystem: %{
        mounts: [%{path: "/job", source: dir, access: "rw", ownership: "directory"}]
      }
    }

    # /dev/stdout: the pipes follow the sandbox to its reserved host uid (root resin).
    script =
      "head -c 65536 /dev/urandom > /job/out && sha256sum /job/out && id -u && " <>
        "echo reopened > /dev/stdout"

    assert {:ok, %Result{exit: %Exit{reason: :exited, exit_code: 0}, stdout: stdout}} =
             Lacca.run("sh", ["-c", script], config: config)

    [hash_inside, "/job/out", uid_inside, "reopened"] = String.split(stdout)
    path = Path.join(dir, "out")
    bytes = File.read!(path)
    assert byte_size(bytes) == 65_536
    assert Base.encode16(:crypto.hash(:sha256, bytes), case: :lower) == hash_inside
    assert uid_inside == "65534"

    directory = File.stat!(dir)
    file = File.stat!(path)
    assert {file.uid, file.gid} == {directory.uid, directory.gid}
  end
end

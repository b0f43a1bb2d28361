defmodule Lacca.ConfigTest do
  use ExUnit.Case, async: true

  alias Lacca.{Config, Error}

  test "no config is the default profile" do
    assert Config.to_json(nil) == {:ok, ~s({"extends":"default"})}
  end

  test "a profile name, as an atom or a string" do
    assert Config.to_json(:trusted) == {:ok, ~s({"extends":"trusted"})}
    assert Config.to_json(:"network-client") == {:ok, ~s({"extends":"network-client"})}
    assert Config.to_json("build") == {:ok, ~s({"extends":"build"})}
  end

  test "a path is made absolute" do
    assert Config.to_json("/etc/job.json") == {:ok, ~s({"extends":"/etc/job.json"})}
    expected = Path.join(File.cwd!(), "profiles/job.json")
    assert Config.to_json("profiles/job.json") == {:ok, ~s({"extends":"#{expected}"})}
    assert Config.to_json("job.json") == {:ok, ~s({"extends":"#{File.cwd!()}/job.json"})}
  end

  test "a map or keyword list extends default unless it says otherwise" do
    assert Config.to_json(%{limits: %{processes: 8}}) ==
             {:ok, ~s({"extends":"default","limits":{"processes":8}})}

    assert Config.to_json(extends: :build, limits: [processes: 8]) ==
             {:ok, ~s({"extends":"build","limits":{"processes":8}})}

    assert Config.to_json(%{"extends" => "./mine.json"}) ==
             {:ok, ~s({"extends":"#{File.cwd!()}/mine.json"})}

    assert Config.to_json(extends: nil, filesystem: [cwd: "/"]) ==
             {:ok, ~s({"extends":null,"filesystem":{"cwd":"/"}})}
  end

  test "what cannot be a config is an invalid_config error" do
    assert {:error, %Error{reason: :invalid_config, json_pointer: "/limits/memory_bytes"}} =
             Config.to_json(limits: [memory_bytes: {256, :mib}])

    assert {:error, %Error{reason: :invalid_config}} = Config.to_json(42)
    assert {:error, %Error{reason: :invalid_config}} = Config.to_json([1, 2])
    assert {:error, %Error{reason: :invalid_config}} = Config.to_json(true)

    assert {:error, %Error{reason: :invalid_config, json_pointer: "/extends"}} =
             Config.to_json(extends: 3)

    assert {:error, %Error{json_pointer: "/extends"}} =
             Config.to_json([{:extends, "a"}, {"extends", "b"}])
  end
end

defmodule Lacca.JSONTest do
  use ExUnit.Case, async: true

  alias Lacca.JSON

  test "the encoder's examples" do
    assert JSON.encode(%{limits: [memory_bytes: 268_435_456]}) ==
             {:ok, ~s({"limits":{"memory_bytes":268435456}})}

    assert JSON.encode(%{env: %{set: %{"PATH" => "/usr/bin"}}, network: [mode: :none]}) ==
             {:ok, ~s({"env":{"set":{"PATH":"/usr/bin"}},"network":{"mode":"none"}})}

    assert JSON.encode(%{limits: %{wall_time_ms: {1, :s}}}) ==
             {:error, "/limits/wall_time_ms", "cannot encode {1, :s} as JSON"}
  end

  defp encode!(term) do
    {:ok, json} = JSON.encode(term)
    json
  end

  test "scalars" do
    assert encode!(nil) == "null"
    assert encode!(true) == "true"
    assert encode!(false) == "false"
    assert encode!(0) == "0"
    assert encode!(-42) == "-42"
    assert encode!(18_446_744_073_709_551_615) == "18446744073709551615"
    assert encode!(0.5) == "0.5"
    assert encode!(1.0e-3) == "0.001"
    assert encode!(:ro) == ~s("ro")
  end

  test "strings are escaped as JSON requires, UTF-8 passes through" do
    assert encode!(~s(a"b\\c)) == ~S("a\"b\\c")
    assert encode!("line\nnext\ttab\r") == ~S("line\nnext\ttab\r")
    assert encode!(<<1, 31>>) == ~S("\u0001\u001F")
    assert encode!("héllo ✓") == ~s("héllo ✓")
    assert encode!("</script>") == ~s("</script>")
  end

  test "keyword lists and pair lists are objects, other lists are arrays" do
    assert encode!(a: 1, b: [c: true]) == ~s({"a":1,"b":{"c":true}})
    assert encode!([{"PATH", "/bin"}]) == ~s({"PATH":"/bin"})
    assert encode!([]) == "[]"
    assert encode!([1, "two", nil]) == ~s([1,"two",null])
    assert encode!([%{path: "/usr"}, %{path: "/lib", optional: true}]) =~ ~s([{"path":"/usr"},)
    assert encode!(%{}) == "{}"
  end

  test "errors name the offending value's JSON pointer" do
    assert JSON.encode(%{filesystem: %{mounts: [%{path: "/usr"}, %{path: self()}]}}) ==
             {:error, "/filesystem/mounts/1/path", "cannot encode #{inspect(self())} as JSON"}

    assert {:error, "/env/set/a~1b~0c", _} = JSON.encode(%{env: %{set: %{"a/b~c" => {1}}}})
    assert {:error, "/x", "<<255>> is not valid UTF-8"} = JSON.encode(%{x: <<255>>})
    assert {:error, "", _} = JSON.encode(%{1 => 2})
    assert {:error, "", _} = JSON.encode(~D[2024-01-01])
  end
end

defmodule Lacca.JSON do
  @moduledoc false
  # The small JSON encoder lacca needs to write the `config` field of `StartProcess`.
  #
  # lacca depends on nothing but Elixir and OTP (and OTP 25 has no `:json`), so it encodes configs
  # itself. Elixir terms map onto JSON as:
  #
  #   * maps and non-empty keyword lists (or lists of `{string, value}` pairs) → objects, keys being
  #     atoms or strings;
  #   * other lists → arrays;
  #   * binaries (UTF-8) → strings; atoms other than `true`, `false` and `nil` → strings;
  #   * integers and floats → numbers; `nil` → `null`.
  #
  # A term that has no JSON form is an error that names where it is, as a JSON pointer (RFC 6901):
  #
  #     Lacca.JSON.encode(%{limits: [memory_bytes: 268_435_456]})
  #     {:ok, ~s({"limits":{"memory_bytes":268435456}})}
  #     Lacca.JSON.encode(%{env: %{set: %{"PATH" => "/usr/bin"}}, network: [mode: :none]})
  #     {:ok, ~s({"env":{"set":{"PATH":"/usr/bin"}},"network":{"mode":"none"}})}
  #     Lacca.JSON.encode(%{limits: %{wall_time_ms: {1, :s}}})
  #     {:error, "/limits/wall_time_ms", "cannot encode {1, :s} as JSON"}

  @type encode_error :: {:error, json_pointer :: String.t(), message :: String.t()}

  @doc "Encodes `term` as a JSON text."
  @spec encode(term()) :: {:ok, String.t()} | encode_error()
  def encode(term) do
    {:ok, term |> value([]) |> IO.iodata_to_binary()}
  catch
    {:unencodable, path, message} -> {:error, pointer(path), message}
  end

  defp value(nil, _path), do: "null"
  defp value(true, _path), do: "true"
  defp value(false, _path), do: "false"
  defp value(atom, path) when is_atom(atom), do: atom |> Atom.to_string() |> value(path)
  defp value(integer, _path) when is_integer(integer), do: Integer.to_string(integer)
  defp value(float, _path) when is_float(float), do: :erlang.float_to_binary(float, [:short])
  defp value(string, path) when is_binary(string), do: string(string, path)

  defp value(map, path) when is_map(map) and not is_struct(map),
    do: object(Map.to_list(map), path)

  defp value([{key, _} | _] = pairs, path) when is_atom(key) or is_binary(key) do
    if Enum.all?(pairs, &pair?/1), do: object(pairs, path), else: array(pairs, path)
  end

  defp value(list, path) when is_list(list), do: array(list, path)

  defp value(other, path),
    do: throw({:unencodable, path, "cannot encode #{inspect(other)} as JSON"})

  defp pair?({key, _}) when is_atom(key) or is_binary(key), do: true
  defp pair?(_), do: false

  defp object(pairs, path) do
    members =
      pairs
      |> Enum.map(fn {key, val} ->
        key = key!(key, path)
        [string(key, path), ?:, value(val, [key | path])]
      end)
      |> Enum.intersperse(?,)

    [?{, members, ?}]
  end

  defp array(items, path) do
    members =
      items
      |> Enum.with_index()
      |> Enum.map(fn {item, index} -> value(item, [Integer.to_string(index) | path]) end)
      |> Enum.intersperse(?,)

    [?[, members, ?]]
  end

  defp key!(key, _path) when is_binary(key), do: key

  defp key!(key, _path) when is_atom(key) and key not in [nil, true, false],
    do: Atom.to_string(key)

  defp key!(key, path),
    do: throw({:unencodable, path, "cannot use #{inspect(key)} as an object key"})

  defp string(string, path) do
    if String.valid?(string) do
      [?", escape(string), ?"]
    else
      throw({:unencodable, path, "#{inspect(string)} is not valid UTF-8"})
    end
  end

  # Only `"`, `\` and the control characters must be escaped; everything else passes through
  # as UTF-8 bytes.
  defp escape(string) do
    for <<byte <- string>>, into: "" do
      case byte do
        ?" -> "\\\""
        ?\\ -> "\\\\"
        ?\n -> "\\n"
        ?\r -> "\\r"
        ?\t -> "\\t"
        byte when byte < 0x20 -> "\\u" <> String.pad_leading(Integer.to_string(byte, 16), 4, "0")
        byte -> <<byte>>
      end
    end
  end

  defp pointer(path) do
    path
    |> Enum.reverse()
    |> Enum.map(fn token ->
      "/" <> (token |> String.replace("~", "~0") |> String.replace("/", "~1"))
    end)
    |> Enum.join()
  end
end

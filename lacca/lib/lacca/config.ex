defmodule Lacca.Config do
  @moduledoc """
  Turns the `:config` option into the JSON config that resin validates (`docs/config.md`).

  Every sandboxed process runs under a profile. The option takes one of:

    * nothing (`nil`) — the `default` profile: no network, read-only system directories, a private
      `/tmp`, an unprivileged user, a cleared environment;
    * a profile name, as an atom or a string — `:build`, `"network-client"`, `:trusted`, or any
      `<name>.json` resin finds in its search path;
    * a path to a JSON profile file — a string containing `/` or ending in `.json`; a relative path
      is expanded against the current directory (resin reads it, on the node it runs on);
    * a map or keyword list in the profile format, nested maps and lists allowed, atoms or strings
      as keys. Without an `extends` key it extends `default`; `extends: nil` starts from resin's
      built-in defaults instead (nothing mounted at all).

  ## Examples

      iex> Lacca.Config.to_json(nil)
      {:ok, ~s({"extends":"default"})}
      iex> Lacca.Config.to_json(:build)
      {:ok, ~s({"extends":"build"})}
      iex> Lacca.Config.to_json(limits: [wall_time_ms: 5_000])
      {:ok, ~s({"extends":"default","limits":{"wall_time_ms":5000}})}
      iex> Lacca.Config.to_json(%{"extends" => "trusted", "network" => %{"mode" => "none"}})
      {:ok, ~s({"extends":"trusted","network":{"mode":"none"}})}
      iex> Lacca.Config.to_json(extends: :build, filesystem: [mounts: [[path: "/etc/ssl", remove: true]]])
      {:ok, ~s({"extends":"build","filesystem":{"mounts":[{"path":"/etc/ssl","remove":true}]}})}
      iex> Lacca.Config.to_json(extends: nil, limits: [processes: 4])
      {:ok, ~s({"extends":null,"limits":{"processes":4}})}
      iex> {:error, %Lacca.Error{reason: :invalid_config}} = Lacca.Config.to_json({:build})

  The document is applied onto its parent as docs/config.md describes: objects merge key by key,
  `filesystem.mounts` and `filesystem.tmpfs` merge by mount point (`remove: true` drops an
  inherited one), other values replace the parent's and `nil` removes them. The guide
  `guides/profiles.md` shows what each shipped profile allows and the common recipes.

  resin does the validation: a config it refuses makes `Lacca.start/3` return
  `{:error, %Lacca.Error{reason: :invalid_config, json_pointer: pointer}}`.
  """

  alias Lacca.{Error, JSON}

  @default_profile "default"

  @typedoc "The `:config` option."
  @type t :: nil | atom() | String.t() | map() | keyword()

  @doc """
  Encodes the `:config` option as the JSON text of `StartProcess`'s config field.

  `overlay` is a list of `{path, value}` pairs set on top of the document (string keys, merged
  into what is there): `Lacca.start/3` puts `:cd`, `:env` and `:timeout` there.

      iex> Lacca.Config.to_json(:build, [{["limits", "wall_time_ms"], 60_000}])
      {:ok, ~s({"extends":"build","limits":{"wall_time_ms":60000}})}
  """
  @spec to_json(t(), [{[String.t()], term()}]) :: {:ok, String.t()} | {:error, Error.t()}
  def to_json(config, overlay \\ []) do
    with {:ok, document} <- document(config) do
      document =
        Enum.reduce(overlay, document, fn {path, value}, doc -> put(doc, path, value) end)

      case JSON.encode(document) do
        {:ok, json} -> {:ok, json}
        {:error, pointer, message} -> invalid(message, pointer)
      end
    end
  end

  defp document(nil), do: {:ok, [extends: @default_profile]}

  defp document(name) when is_atom(name) and name not in [true, false],
    do: {:ok, [extends: Atom.to_string(name)]}

  defp document(name_or_path) when is_binary(name_or_path),
    do: {:ok, [extends: extends(name_or_path)]}

  defp document(config) when is_map(config) and not is_struct(config),
    do: config |> Map.to_list() |> document_of_pairs()

  defp document(config) when is_list(config) do
    if Enum.all?(config, &match?({key, _} when is_atom(key) or is_binary(key), &1)) do
      document_of_pairs(config)
    else
      invalid("a config list must be a keyword list, got: #{inspect(config)}")
    end
  end

  defp document(config) do
    invalid(
      "config must be a profile name, a path, a map or a keyword list, got: #{inspect(config)}"
    )
  end

  # `extends` goes first, which reads best in resin's error messages and in logs.
  defp document_of_pairs(pairs) do
    case Enum.split_with(pairs, fn {key, _} -> to_string(key) == "extends" end) do
      {[], rest} ->
        {:ok, [{"extends", @default_profile} | rest]}

      {[{_, nil}], rest} ->
        {:ok, [{"extends", nil} | rest]}

      {[{_, parent}], rest} when is_binary(parent) ->
        {:ok, [{"extends", extends(parent)} | rest]}

      {[{_, parent}], rest} when is_atom(parent) ->
        {:ok, [{"extends", to_string(parent)} | rest]}

      {[_, _ | _], _} ->
        invalid("extends is given more than once", "/extends")

      {[{_, parent}], _} ->
        invalid("extends must be a name or a path, got: #{inspect(parent)}", "/extends")
    end
  end

  # Sets the value at `path` (string keys) in a document of pairs or maps, merging into what is there.
  defp put(pairs, [key | rest], value) when is_list(pairs) do
    case Enum.split_with(pairs, fn {k, _} -> to_string(k) == key end) do
      {[], _} -> pairs ++ [{key, nested(rest, value)}]
      {[{_, inner}], others} -> others ++ [{key, put_inner(inner, rest, value)}]
    end
  end

  defp put(map, path, value) when is_map(map), do: put(Map.to_list(map), path, value)

  defp put_inner(_inner, [], value), do: value

  defp put_inner(inner, rest, value) when is_map(inner) or is_list(inner),
    do: put(inner, rest, value)

  defp put_inner(_inner, rest, value), do: nested(rest, value)

  defp nested([], value), do: value
  defp nested([key | rest], value), do: [{key, nested(rest, value)}]

  # A path (anything with a `/` or ending in `.json`, as resin decides) is made absolute, because a
  # config sent over the protocol has no directory to resolve a relative path against.
  defp extends(name_or_path) do
    if String.contains?(name_or_path, "/") or String.ends_with?(name_or_path, ".json") do
      Path.expand(name_or_path)
    else
      name_or_path
    end
  end

  defp invalid(message, pointer \\ ""),
    do: {:error, Error.new(:invalid_config, message, json_pointer: pointer)}
end

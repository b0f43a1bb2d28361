defmodule Lacca.Protocol do
  @moduledoc """
  Encodes and decodes the packets of the shellac protocol, version 3 (`docs/protocol.md`).

  Version 2 adds `{:set_shutdown_grace, id, grace_ms}` (lacca to resin), `{:stdin_credit, id, bytes}`
  (resin to lacca: how many more `DataIn` payload bytes lacca may send) and the error code
  `:stdin_broken`. Version 3 adds prepared sandboxes: `{:prepare, id, config}` builds a sandbox
  without a command, resin answers `{:prepared, id}`, and `{:start, id, executable, args, env, cwd}`
  runs the command in it. The codec decodes every packet in any session; which version a packet
  exists in is the session's concern (resin answers a newer packet with `:unknown_packet_type`).
  `version/0`, the version lacca asks for in `Hello`, is 3: `Lacca.Pool` prepares sandboxes, and
  a start without the pool still sends `StartProcess`, which version 3 keeps.

  lacca and resin exchange length-prefixed binary packets over a port. This module knows bytes only:
  it turns a packet term into the packet's bytes and back, with every check the specification
  requires (exact consumption, no trailing bytes, enumerations in range). The 4-byte length prefix is
  added and removed by the port (`{:packet, 4}`); `frame/1` and `decode_frame/1` handle it for callers
  that read a raw byte stream, such as the golden vectors in `tests/vectors/`.

      iex> Lacca.Protocol.encode({:hello, 1, 2})
      <<1, 0, 0, 0, 1, 0, 0, 0, 2>>
      iex> Lacca.Protocol.decode(<<0x86, 0, 0, 0, 2, 0, 16, 0, 0>>)
      {:ok, {:stdin_credit, 2, 1_048_576}}
      iex> Lacca.Protocol.decode(<<0x83, 0, 0, 0, 2, 1, 0, 0, 0, 3, "hi\\n">>)
      {:ok, {:data_out, 2, :stdout, "hi\\n"}}
      iex> Lacca.Protocol.encode({:prepare, 9, ~s({"extends":"default"})})
      <<9, 0, 0, 0, 9, 0, 0, 0, 21, ~s({"extends":"default"})::binary>>
      iex> Lacca.Protocol.decode(<<0x87, 0, 0, 0, 9>>)
      {:ok, {:prepared, 9}}
      iex> Lacca.Protocol.decode(<<0x42, 0, 0, 0, 9>>)
      {:error, :unknown_packet_type, "unknown packet type 66"}

  Decoded binaries are sub-binaries of the packet: decoding copies no payload.
  """

  import Bitwise

  @version 3
  @stdin_window 1_048_576
  @max_packet_size 1_048_576
  @max_u32 0xFFFFFFFF
  @header_size 5

  @typedoc "A request id: any u32 but 0 (0 marks reports that no request caused)."
  @type request_id :: non_neg_integer()
  @typedoc "An output stream of the command."
  @type stream :: :stdout | :stderr
  @typedoc "Why a command ended, as `ExitStatus` encodes it (`Lacca.Exit` documents each)."
  @type exit_reason ::
          :exited
          | :signaled
          | :killed
          | :wall_time_limit
          | :cpu_time_limit
          | :memory_limit
          | :seccomp
  @typedoc "An `ErrorReport` code (`Lacca.Error` documents each)."
  @type error_code ::
          :malformed_packet
          | :packet_too_large
          | :unknown_packet_type
          | :version_mismatch
          | :unexpected_packet
          | :invalid_request
          | :invalid_config
          | :unsupported_config
          | :executable_not_found
          | :permission_denied
          | :spawn_failed
          | :no_process
          | :stdin_closed
          | :stdin_overflow
          | :internal_error
          | :stdin_broken

  @typedoc "The fields of `ExitStatus`, as decoded (`Lacca.Exit.from_status/2` turns them into a `Lacca.Exit`)."
  @type exit_status :: %{
          reason: exit_reason(),
          exit_code: 0..255,
          signal: 0..255,
          core_dumped: boolean(),
          wall_us: non_neg_integer(),
          cpu_user_us: non_neg_integer(),
          cpu_system_us: non_neg_integer(),
          peak_memory_bytes: non_neg_integer(),
          peak_processes: non_neg_integer(),
          detail: binary()
        }
  @typedoc "The fields of `ErrorReport`, as decoded."
  @type error_report :: %{
          code: error_code(),
          fatal: boolean(),
          message: binary(),
          json_pointer: binary()
        }

  @typedoc "A packet from lacca to resin."
  @type request ::
          {:hello, request_id(), version :: non_neg_integer()}
          | {:start_process, request_id(), executable :: binary(), args :: [binary()],
             config :: binary()}
          | {:kill_process, request_id(), signal :: 0..255}
          | {:stop_process, request_id(), grace_ms :: non_neg_integer()}
          | {:data_in, request_id(), iodata()}
          | {:close_stdin, request_id()}
          | {:grant_credit, request_id(), bytes :: non_neg_integer()}
          | {:set_shutdown_grace, request_id(), grace_ms :: non_neg_integer()}
          | {:prepare, request_id(), config :: binary()}
          | {:start, request_id(), executable :: binary(), args :: [binary()], env :: [binary()],
             cwd :: binary()}

  @typedoc "A packet from resin to lacca."
  @type reply ::
          {:hello_reply, request_id(), version :: non_neg_integer(),
           features :: [{binary(), binary()}]}
          | {:process_started, request_id(), os_pid :: non_neg_integer()}
          | {:data_out, request_id(), stream(), binary()}
          | {:exit_status, request_id(), exit_status()}
          | {:error_report, request_id(), error_report()}
          | {:stdin_credit, request_id(), bytes :: non_neg_integer()}
          | {:prepared, request_id()}

  @typedoc "Any packet."
  @type packet :: request() | reply()
  @typedoc "Why bytes are not a packet: the error code resin would report, and a message."
  @type decode_error :: {:error, :malformed_packet | :unknown_packet_type, String.t()}

  @types %{
    hello: 0x01,
    start_process: 0x02,
    kill_process: 0x03,
    stop_process: 0x04,
    data_in: 0x05,
    close_stdin: 0x06,
    grant_credit: 0x07,
    set_shutdown_grace: 0x08,
    prepare: 0x09,
    start: 0x0A,
    hello_reply: 0x81,
    process_started: 0x82,
    data_out: 0x83,
    exit_status: 0x84,
    error_report: 0x85,
    stdin_credit: 0x86,
    prepared: 0x87
  }

  @exit_reasons [
    :exited,
    :signaled,
    :killed,
    :wall_time_limit,
    :cpu_time_limit,
    :memory_limit,
    :seccomp
  ]

  @error_codes [
    :malformed_packet,
    :packet_too_large,
    :unknown_packet_type,
    :version_mismatch,
    :unexpected_packet,
    :invalid_request,
    :invalid_config,
    :unsupported_config,
    :executable_not_found,
    :permission_denied,
    :spawn_failed,
    :no_process,
    :stdin_closed,
    :stdin_overflow,
    :internal_error,
    :stdin_broken
  ]

  @doc """
  The protocol version lacca asks for in `Hello` (3). resin answers with the version asked for, so
  a `HelloReply` is valid when its version equals this one.
  """
  @spec version() :: pos_integer()
  def version, do: @version

  @doc """
  The stdin credit resin grants right after `ProcessStarted` (`kStdinWindow`, 1 MiB): the most
  `DataIn` payload lacca may have outstanding before resin grants more.
  """
  @spec stdin_window() :: pos_integer()
  def stdin_window, do: @stdin_window

  @doc "The longest `SetShutdownGrace` resin accepts, in milliseconds (one hour)."
  @spec max_shutdown_grace_ms() :: pos_integer()
  def max_shutdown_grace_ms, do: 3_600_000

  @doc "The largest packet either side may send (`kMaxPacketSize`), without its length prefix."
  @spec max_packet_size() :: pos_integer()
  def max_packet_size, do: @max_packet_size

  @doc "The largest `DataIn` payload that fits in one packet."
  @spec max_data_in_payload() :: pos_integer()
  def max_data_in_payload, do: @max_packet_size - @header_size - 4

  @doc "The exit reasons of protocol version 2 (the same as version 1), in wire order (reason 0 first)."
  @spec exit_reasons() :: [exit_reason()]
  def exit_reasons, do: @exit_reasons

  @doc "The error codes of protocol version 2, in wire order (code 1 first); version 1 lacks `:stdin_broken`."
  @spec error_codes() :: [error_code()]
  def error_codes, do: @error_codes

  ## Encoding

  @doc """
  Encodes a packet, without its length prefix (the port adds it).

  Raises `ArgumentError` for a field out of its wire range, e.g. a signal above 255.
  """
  @spec encode(packet()) :: binary()
  def encode(packet), do: packet |> encode_iodata() |> IO.iodata_to_binary()

  @doc "Like `encode/1`, as iodata: a `DataIn` payload is not copied."
  @spec encode_iodata(packet()) :: iodata()
  def encode_iodata(packet) do
    type = Map.fetch!(@types, elem(packet, 0))
    id = elem(packet, 1)
    [<<type, u32!(id, "request id")::32>> | fields(packet)]
  end

  @doc "Encodes a packet with its 4-byte big-endian length prefix: one frame of the byte stream."
  @spec frame(packet()) :: binary()
  def frame(packet) do
    body = encode(packet)
    <<byte_size(body)::32, body::binary>>
  end

  defp fields({:hello, _, version}), do: [<<u32!(version, "version")::32>>]

  defp fields({:start_process, _, executable, args, config}) do
    [string(executable), strings(args), string(config)]
  end

  defp fields({:prepare, _, config}), do: string(config)

  defp fields({:start, _, executable, args, env, cwd}) do
    [string(executable), strings(args), strings(env), string(cwd)]
  end

  defp fields({:prepared, _}), do: []

  defp fields({:kill_process, _, signal}), do: [<<u8!(signal, "signal")>>]
  defp fields({:stop_process, _, grace_ms}), do: [<<u32!(grace_ms, "grace_ms")::32>>]
  defp fields({:data_in, _, data}), do: string(data)
  defp fields({:close_stdin, _}), do: []
  defp fields({:grant_credit, _, bytes}), do: [<<u32!(bytes, "bytes")::32>>]
  defp fields({:set_shutdown_grace, _, grace_ms}), do: [<<u32!(grace_ms, "grace_ms")::32>>]
  defp fields({:stdin_credit, _, bytes}), do: [<<u32!(bytes, "bytes")::32>>]

  defp fields({:hello_reply, _, version, features}) do
    [
      <<u32!(version, "version")::32, length(features)::32>>,
      Enum.map(features, fn {key, value} -> [string(key), string(value)] end)
    ]
  end

  defp fields({:process_started, _, os_pid}), do: [<<u32!(os_pid, "os_pid")::32>>]

  defp fields({:data_out, _, stream, data}) do
    if IO.iodata_length(data) == 0, do: raise(ArgumentError, "DataOut data may not be empty")
    [<<stream_byte(stream)>> | string(data)]
  end

  defp fields({:exit_status, _, status}) do
    [
      <<index!(@exit_reasons, status.reason, "exit reason"), u8!(status.exit_code, "exit_code"),
        u8!(status.signal, "signal"), bool_byte(status.core_dumped),
        u64!(status.wall_us, "wall_us")::64, u64!(status.cpu_user_us, "cpu_user_us")::64,
        u64!(status.cpu_system_us, "cpu_system_us")::64,
        u64!(status.peak_memory_bytes, "peak_memory_bytes")::64,
        u32!(status.peak_processes, "peak_processes")::32>>
      | string(status.detail)
    ]
  end

  defp fields({:error_report, _, report}) do
    [
      <<index!(@error_codes, report.code, "error code") + 1::16, bool_byte(report.fatal)>>,
      string(report.message),
      string(report.json_pointer)
    ]
  end

  defp string(data), do: [<<IO.iodata_length(data)::32>> | data]
  defp strings(items), do: [<<length(items)::32>> | Enum.map(items, &string/1)]

  defp stream_byte(:stdout), do: 1
  defp stream_byte(:stderr), do: 2

  defp bool_byte(true), do: 1
  defp bool_byte(false), do: 0

  defp index!(list, value, what) do
    Enum.find_index(list, &(&1 == value)) ||
      raise ArgumentError, "unknown #{what}: #{inspect(value)}"
  end

  defp u8!(value, field), do: in_range!(value, 0xFF, field)
  defp u32!(value, field), do: in_range!(value, @max_u32, field)
  defp u64!(value, field), do: in_range!(value, (1 <<< 64) - 1, field)

  defp in_range!(value, max, _field) when is_integer(value) and value >= 0 and value <= max,
    do: value

  defp in_range!(value, max, field) do
    raise ArgumentError, "#{field} must be an integer in 0..#{max}, got: #{inspect(value)}"
  end

  ## Decoding

  @doc """
  Decodes one packet (without its length prefix).

  Returns `{:error, code, message}` with `code` `:unknown_packet_type` for a type byte version 3 does
  not define and `:malformed_packet` for anything else that does not decode exactly: a truncated
  field, a length or count that runs past the end, an out-of-range enumeration, trailing bytes.
  """
  @spec decode(binary()) :: {:ok, packet()} | decode_error()
  def decode(<<type, id::32, rest::binary>>) do
    case decode_fields(type, id, rest) do
      {:ok, packet, <<>>} ->
        {:ok, packet}

      {:ok, packet, trailing} ->
        malformed(
          "#{elem(packet, 0)}: #{byte_size(trailing)} trailing bytes after the last field"
        )

      {:error, _, _} = error ->
        error
    end
  end

  def decode(packet) when is_binary(packet) do
    malformed("a packet of #{byte_size(packet)} bytes is shorter than its 5-byte header")
  end

  @doc """
  Decodes the first frame of a byte stream: a 4-byte length, then that many bytes of packet.

  Returns `{:ok, packet, rest}`, `{:more, bytes_missing}` when the frame is incomplete, or
  `{:error, code, message}`. A length of 0 is `:malformed_packet` and a length above
  `max_packet_size/0` is `:packet_too_large`, both decided from the length alone.
  """
  @spec decode_frame(binary()) ::
          {:ok, packet(), rest :: binary()}
          | {:more, pos_integer()}
          | {:error, :packet_too_large, String.t()}
          | decode_error()
  def decode_frame(<<0::32, _::binary>>), do: malformed("empty frame (length 0)")

  def decode_frame(<<length::32, _::binary>>) when length > @max_packet_size do
    {:error, :packet_too_large,
     "frame length #{length} exceeds the maximum of #{@max_packet_size} bytes"}
  end

  def decode_frame(<<length::32, body::binary-size(length), rest::binary>>) do
    with {:ok, packet} <- decode(body), do: {:ok, packet, rest}
  end

  def decode_frame(<<length::32, body::binary>>), do: {:more, length - byte_size(body)}
  def decode_frame(partial), do: {:more, 4 - byte_size(partial)}

  defp decode_fields(0x01, id, <<version::32, rest::binary>>),
    do: {:ok, {:hello, id, version}, rest}

  defp decode_fields(0x02, id, rest) do
    with {:ok, executable, rest} <- take_string(rest, "executable"),
         {:ok, args, rest} <- take_strings(rest, "args"),
         {:ok, config, rest} <- take_string(rest, "config") do
      {:ok, {:start_process, id, executable, args, config}, rest}
    end
  end

  defp decode_fields(0x03, id, <<signal, rest::binary>>),
    do: {:ok, {:kill_process, id, signal}, rest}

  defp decode_fields(0x04, id, <<grace::32, rest::binary>>),
    do: {:ok, {:stop_process, id, grace}, rest}

  defp decode_fields(0x05, id, rest) do
    with {:ok, data, rest} <- take_string(rest, "data"), do: {:ok, {:data_in, id, data}, rest}
  end

  defp decode_fields(0x06, id, rest), do: {:ok, {:close_stdin, id}, rest}

  defp decode_fields(0x07, id, <<bytes::32, rest::binary>>),
    do: {:ok, {:grant_credit, id, bytes}, rest}

  defp decode_fields(0x08, id, <<grace::32, rest::binary>>),
    do: {:ok, {:set_shutdown_grace, id, grace}, rest}

  defp decode_fields(0x09, id, rest) do
    with {:ok, config, rest} <- take_string(rest, "config"),
         do: {:ok, {:prepare, id, config}, rest}
  end

  defp decode_fields(0x0A, id, rest) do
    with {:ok, executable, rest} <- take_string(rest, "executable"),
         {:ok, args, rest} <- take_strings(rest, "args"),
         {:ok, env, rest} <- take_strings(rest, "env"),
         {:ok, cwd, rest} <- take_string(rest, "cwd") do
      {:ok, {:start, id, executable, args, env, cwd}, rest}
    end
  end

  defp decode_fields(0x86, id, <<bytes::32, rest::binary>>),
    do: {:ok, {:stdin_credit, id, bytes}, rest}

  defp decode_fields(0x87, id, rest), do: {:ok, {:prepared, id}, rest}

  defp decode_fields(0x81, id, <<version::32, rest::binary>>) do
    with {:ok, features, rest} <- take_pairs(rest) do
      {:ok, {:hello_reply, id, version, features}, rest}
    end
  end

  defp decode_fields(0x82, id, <<os_pid::32, rest::binary>>),
    do: {:ok, {:process_started, id, os_pid}, rest}

  defp decode_fields(0x83, id, <<stream, rest::binary>>) when stream in [1, 2] do
    case take_string(rest, "data") do
      {:ok, "", _} ->
        malformed("data_out: empty data")

      {:ok, data, rest} ->
        {:ok, {:data_out, id, if(stream == 1, do: :stdout, else: :stderr), data}, rest}

      error ->
        error
    end
  end

  defp decode_fields(0x83, _id, <<stream, _::binary>>),
    do: malformed("data_out: stream #{stream} is neither 1 (stdout) nor 2 (stderr)")

  defp decode_fields(
         0x84,
         id,
         <<reason, exit_code, signal, core, wall::64, user::64, system::64, memory::64,
           processes::32, rest::binary>>
       ) do
    cond do
      reason >= length(@exit_reasons) ->
        malformed("exit_status: unknown reason #{reason}")

      core > 1 ->
        malformed("exit_status: core_dumped is neither 0 nor 1")

      true ->
        with {:ok, detail, rest} <- take_string(rest, "detail") do
          status = %{
            reason: Enum.at(@exit_reasons, reason),
            exit_code: exit_code,
            signal: signal,
            core_dumped: core == 1,
            wall_us: wall,
            cpu_user_us: user,
            cpu_system_us: system,
            peak_memory_bytes: memory,
            peak_processes: processes,
            detail: detail
          }

          {:ok, {:exit_status, id, status}, rest}
        end
    end
  end

  defp decode_fields(0x85, id, <<code::16, fatal, rest::binary>>) do
    cond do
      code == 0 or code > length(@error_codes) ->
        malformed("error_report: unknown code #{code}")

      fatal > 1 ->
        malformed("error_report: fatal is neither 0 nor 1")

      true ->
        with {:ok, message, rest} <- take_string(rest, "message"),
             {:ok, pointer, rest} <- take_string(rest, "json_pointer") do
          report = %{
            code: Enum.at(@error_codes, code - 1),
            fatal: fatal == 1,
            message: message,
            json_pointer: pointer
          }

          {:ok, {:error_report, id, report}, rest}
        end
    end
  end

  defp decode_fields(type, _id, _rest)
       when type in [0x01, 0x03, 0x04, 0x07, 0x08, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86],
       do: malformed("#{type_name(type)}: truncated")

  defp decode_fields(type, _id, _rest),
    do: {:error, :unknown_packet_type, "unknown packet type #{type}"}

  defp take_string(<<length::32, data::binary-size(length), rest::binary>>, _field),
    do: {:ok, data, rest}

  defp take_string(_, field), do: malformed("truncated or bad length at field '#{field}'")

  # A count is checked against the smallest possible item (an empty string is 4 bytes) before any
  # item is read, so a huge count fails at once instead of after a long loop.
  defp take_strings(<<count::32, rest::binary>>, field) when count * 4 <= byte_size(rest),
    do: take_n(rest, count, field, [])

  defp take_strings(_, field), do: malformed("truncated or bad count at field '#{field}'")

  defp take_n(rest, 0, _field, acc), do: {:ok, Enum.reverse(acc), rest}

  defp take_n(rest, n, field, acc) do
    with {:ok, item, rest} <- take_string(rest, field),
         do: take_n(rest, n - 1, field, [item | acc])
  end

  defp take_pairs(<<count::32, rest::binary>>) when count * 8 <= byte_size(rest) do
    with {:ok, flat, rest} <- take_n(rest, count * 2, "features", []) do
      {:ok, pairs(flat), rest}
    end
  end

  defp take_pairs(_), do: malformed("truncated or bad count at field 'features'")

  defp pairs([key, value | rest]), do: [{key, value} | pairs(rest)]
  defp pairs([]), do: []

  defp type_name(type), do: Enum.find_value(@types, fn {name, byte} -> byte == type && name end)

  defp malformed(message), do: {:error, :malformed_packet, message}
end

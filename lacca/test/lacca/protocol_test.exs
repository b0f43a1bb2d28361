defmodule Lacca.ProtocolTest do
  use ExUnit.Case, async: true

  alias Lacca.Protocol
  alias Lacca.Test.RepoFiles

  @vectors Path.expand("../../../tests/vectors", __DIR__)

  # The field values of tests/vectors/README.md, written out independently of the encoder.
  @expected %{
    "hello" => {:hello, 1, 1},
    "start_process" => {:start_process, 2, "echo", ["hello, world."], ~s({"extends":"default"})},
    "kill_process" => {:kill_process, 3, 15},
    "stop_process" => {:stop_process, 4, 5000},
    "data_in" => {:data_in, 5, "line 1\n"},
    "close_stdin" => {:close_stdin, 6},
    "grant_credit" => {:grant_credit, 7, 65536},
    "hello_reply" =>
      {:hello_reply, 1, 1, [{"resin.version", "0.1.0"}, {"limits.wall_time_ms", "host_timer"}]},
    "process_started" => {:process_started, 2, 4242},
    "data_out" => {:data_out, 2, :stdout, "hello, world.\n"},
    "exit_status" =>
      {:exit_status, 2,
       %{
         reason: :memory_limit,
         exit_code: 0,
         signal: 9,
         core_dumped: false,
         wall_us: 1_234_567,
         cpu_user_us: 1000,
         cpu_system_us: 2000,
         peak_memory_bytes: 67_108_864,
         peak_processes: 3,
         detail: "memory.max 67108864"
       }},
    "error_report" =>
      {:error_report, 2,
       %{
         code: :invalid_config,
         fatal: false,
         message: "must be an integer",
         json_pointer: "/limits/memory_bytes"
       }},
    # Version 2.
    "hello_v2" => {:hello, 1, 2},
    "set_shutdown_grace" => {:set_shutdown_grace, 8, 300},
    "hello_reply_v2" => {:hello_reply, 1, 2, [{"resin.version", "0.1.0"}]},
    "stdin_credit" => {:stdin_credit, 2, 1_048_576},
    "error_report_stdin_broken" =>
      {:error_report, 2,
       %{
         code: :stdin_broken,
         fatal: false,
         message: "stdin broken: 4096 queued bytes discarded",
         json_pointer: ""
       }},
    # Version 3.
    "hello_v3" => {:hello, 1, 3},
    "prepare" => {:prepare, 9, ~s({"extends":"default"})},
    "start" => {:start, 10, "echo", ["hello, world."], ["LANG=C.UTF-8", "HOME"], "/tmp"},
    "prepared" => {:prepared, 9}
  }

  test "every golden vector has its expected fields listed here" do
    files = @vectors |> RepoFiles.with_extension(".bin") |> Enum.map(&Path.basename(&1, ".bin"))

    assert Enum.sort(files) == Enum.sort(Map.keys(@expected))
  end

  for {name, packet} <- @expected do
    test "#{name}.bin decodes to its fields and re-encodes byte for byte" do
      frame = File.read!(Path.join(@vectors, unquote(name) <> ".bin"))
      packet = unquote(Macro.escape(packet))

      assert {:ok, ^packet, ""} = Protocol.decode_frame(frame)
      assert Protocol.frame(packet) == frame
    end
  end

  describe "malformed vectors" do
    expected =
      Path.expand("../../../tests/vectors/malformed/expected.txt", __DIR__)
      |> File.read!()
      |> String.split("\n", trim: true)
      |> Enum.reject(&String.starts_with?(&1, "#"))
      |> Enum.map(fn line -> line |> String.split() |> List.to_tuple() end)

    test "expected.txt lists every malformed vector" do
      listed = Enum.map(unquote(Macro.escape(expected)), &elem(&1, 0))

      files =
        @vectors
        |> Path.join("malformed")
        |> RepoFiles.with_extension(".bin")
        |> Enum.map(&Path.basename(&1, ".bin"))

      assert Enum.sort(listed) == Enum.sort(files)
    end

    for {name, code} <- expected do
      test "#{name}.bin is rejected with #{code}" do
        frame = File.read!(Path.join(@vectors, "malformed/" <> unquote(name) <> ".bin"))
        code = String.to_existing_atom(unquote(code))
        assert {:error, ^code, message} = Protocol.decode_frame(frame)
        assert is_binary(message) and message != ""
      end
    end
  end

  describe "decoding" do
    test "an incomplete frame asks for the missing bytes" do
      assert Protocol.decode_frame(<<0, 0>>) == {:more, 2}
      assert Protocol.decode_frame(<<0, 0, 0, 9, 1, 0>>) == {:more, 7}
    end

    test "a frame is decoded and the rest of the stream returned" do
      stream = Protocol.frame({:close_stdin, 6}) <> Protocol.frame({:hello, 7, 1})
      assert {:ok, {:close_stdin, 6}, rest} = Protocol.decode_frame(stream)
      assert {:ok, {:hello, 7, 1}, ""} = Protocol.decode_frame(rest)
    end

    test "every truncation of every vector is rejected, never raises" do
      paths = RepoFiles.with_extension(@vectors, ".bin")
      assert length(paths) == map_size(@expected)

      for path <- paths do
        <<_length::32, body::binary>> = File.read!(path)

        for size <- 0..(byte_size(body) - 1) do
          truncated = binary_part(body, 0, size)

          assert {:error, code, _} = Protocol.decode(truncated),
                 "#{Path.basename(path)} truncated to #{size} bytes decoded"

          assert code in [:malformed_packet, :unknown_packet_type]
        end
      end
    end

    test "a huge count fails without reading items" do
      packet = <<0x81, 0, 0, 0, 1, 0, 0, 0, 1, 0xFFFFFFFF::32>>
      assert {:error, :malformed_packet, _} = Protocol.decode(packet)
    end

    test "the last defined exit reason and error code decode, the next ones do not" do
      status = fn reason -> <<0x84, 0, 0, 0, 1, reason, 0::3*8, 0::36*8, 0::32>> end
      assert {:ok, {:exit_status, 1, %{reason: :seccomp}}} = Protocol.decode(status.(6))
      assert {:error, :malformed_packet, _} = Protocol.decode(status.(7))

      report = fn code -> <<0x85, 0, 0, 0, 1, code::16, 0, 0::32, 0::32>> end
      assert {:ok, {:error_report, 1, %{code: :internal_error}}} = Protocol.decode(report.(15))
      assert {:ok, {:error_report, 1, %{code: :stdin_broken}}} = Protocol.decode(report.(16))
      assert {:error, :malformed_packet, _} = Protocol.decode(report.(17))
      assert {:error, :malformed_packet, _} = Protocol.decode(report.(0))
    end

    test "type bytes after the last of version 3 are unknown" do
      for type <- [0x0B, 0x88, 0x00, 0x80] do
        assert {:error, :unknown_packet_type, _} = Protocol.decode(<<type, 0, 0, 0, 1, 0::32>>)
      end
    end

    test "the version 2 packets round-trip at their extremes" do
      for packet <- [
            {:set_shutdown_grace, 1, 0},
            {:set_shutdown_grace, 0xFFFFFFFF, 0xFFFFFFFF},
            {:stdin_credit, 2, 1},
            {:stdin_credit, 3, 0xFFFFFFFF}
          ] do
        assert Protocol.decode(Protocol.encode(packet)) == {:ok, packet}
      end
    end

    test "the version 3 packets round-trip, empty and odd fields included" do
      for packet <- [
            {:prepare, 1, ~s({"extends":"default"})},
            {:prepare, 2, ""},
            {:start, 3, "/bin/sh", ["-c", "env", ""], ["LANG=C.UTF-8", "HOME", "=", ""], "/tmp"},
            {:start, 4, "", [], [], ""},
            {:start, 5, <<"a", 0, "b">>, [<<0xFF>>], [<<"X=", 0>>], <<0>>},
            {:prepared, 6},
            {:prepared, 0xFFFFFFFF}
          ] do
        assert Protocol.decode(Protocol.encode(packet)) == {:ok, packet}
      end
    end

    test "Start's field order is executable, args, env, cwd" do
      assert Protocol.encode({:start, 10, "e", ["a"], ["N=v"], "/c"}) ==
               <<0x0A, 10::32, 1::32, "e", 1::32, 1::32, "a", 1::32, 3::32, "N=v", 2::32, "/c">>
    end

    test "a Start whose env count cannot fit fails at that count" do
      packet = <<0x0A, 10::32, 4::32, "echo", 0::32, 1000::32, 4::32, "/tmp">>
      assert {:error, :malformed_packet, message} = Protocol.decode(packet)
      assert message =~ "'env'"
    end

    test "a Prepared has no fields: a byte after its header is trailing" do
      assert Protocol.encode({:prepared, 9}) == <<0x87, 9::32>>
      assert {:error, :malformed_packet, message} = Protocol.decode(<<0x87, 9::32, 0>>)
      assert message =~ "prepared: 1 trailing bytes"
    end

    test "a HelloReply of version 3 decodes like any other" do
      reply = {:hello_reply, 1, 3, [{"resin.version", "0.1.0"}]}
      assert Protocol.decode(Protocol.encode(reply)) == {:ok, reply}
    end

    test "payloads are sub-binaries of the packet, not copies" do
      data = :binary.copy("x", 100_000)
      packet = Protocol.encode({:data_out, 3, :stderr, data})
      assert {:ok, {:data_out, 3, :stderr, decoded}} = Protocol.decode(packet)
      assert decoded == data
      assert :binary.referenced_byte_size(decoded) == byte_size(packet)
    end
  end

  describe "encoding" do
    test "refuses values out of their wire range" do
      assert_raise ArgumentError, fn -> Protocol.encode({:kill_process, 1, 256}) end
      assert_raise ArgumentError, fn -> Protocol.encode({:grant_credit, 1, 0x1_0000_0000}) end
      assert_raise ArgumentError, fn -> Protocol.encode({:stdin_credit, 1, 0x1_0000_0000}) end
      assert_raise ArgumentError, fn -> Protocol.encode({:set_shutdown_grace, 1, -1}) end
      assert_raise ArgumentError, fn -> Protocol.encode({:hello, -1, 1}) end
      assert_raise ArgumentError, fn -> Protocol.encode({:data_out, 1, :stdout, ""}) end
    end

    test "DataIn takes iodata" do
      assert Protocol.encode({:data_in, 5, ["line", ?\s, "1\n"]}) ==
               Protocol.encode({:data_in, 5, "line 1\n"})
    end

    test "the largest DataIn payload fits in the largest packet" do
      data = :binary.copy("a", Protocol.max_data_in_payload())
      assert byte_size(Protocol.encode({:data_in, 1, data})) == Protocol.max_packet_size()
    end
  end
end

#!/usr/bin/env python3
"""Writes the golden protocol vectors from docs/protocol.md, independently of either implementation.

The .bin files are committed; run this only when the protocol changes (and bump its version). It also
writes each vector's packet body (the frame without its length prefix) to the packet decoder's fuzz
corpus, tests/fuzz/corpus/packets: the fuzz target decodes its input as one body and checks that a
packet re-encodes to the same bytes, so a body seeds that round trip for every packet kind.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ_SEEDS = os.path.join(HERE, "..", "fuzz", "corpus", "packets")


def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)
def string(b): return u32(len(b)) + b
def strings(items): return u32(len(items)) + b"".join(string(i) for i in items)
def frame(body): return u32(len(body)) + body
def packet(ptype, request_id, fields=b""): return frame(u8(ptype) + u32(request_id) + fields)


VECTORS = {
    "hello": packet(0x01, 1, u32(1)),
    "start_process": packet(0x02, 2, string(b"echo") + strings([b"hello, world."])
                            + string(b'{"extends":"default"}')),
    "kill_process": packet(0x03, 3, u8(15)),
    "stop_process": packet(0x04, 4, u32(5000)),
    "data_in": packet(0x05, 5, string(b"line 1\n")),
    "close_stdin": packet(0x06, 6),
    "grant_credit": packet(0x07, 7, u32(65536)),
    # Version 2.
    "hello_v2": packet(0x01, 1, u32(2)),
    "set_shutdown_grace": packet(0x08, 8, u32(300)),
    "hello_reply": packet(0x81, 1, u32(1) + u32(2)
                          + string(b"resin.version") + string(b"0.1.0")
                          + string(b"limits.wall_time_ms") + string(b"host_timer")),
    "process_started": packet(0x82, 2, u32(4242)),
    "data_out": packet(0x83, 2, u8(1) + string(b"hello, world.\n")),
    "exit_status": packet(0x84, 2, u8(5) + u8(0) + u8(9) + u8(0)
                          + u64(1234567) + u64(1000) + u64(2000) + u64(67108864) + u32(3)
                          + string(b"memory.max 67108864")),
    "error_report": packet(0x85, 2, u16(7) + u8(0) + string(b"must be an integer")
                           + string(b"/limits/memory_bytes")),
    # Version 2.
    "hello_reply_v2": packet(0x81, 1, u32(2) + u32(1)
                             + string(b"resin.version") + string(b"0.1.0")),
    "stdin_credit": packet(0x86, 2, u32(1048576)),
    "error_report_stdin_broken": packet(0x85, 2, u16(16) + u8(0)
                                        + string(b"stdin broken: 4096 queued bytes discarded")
                                        + string(b"")),
    # Version 3.
    "hello_v3": packet(0x01, 1, u32(3)),
    "prepare": packet(0x09, 9, string(b'{"extends":"default"}')),
    "start": packet(0x0a, 10, string(b"echo") + strings([b"hello, world."])
                    + strings([b"LANG=C.UTF-8", b"HOME"]) + string(b"/tmp")),
    "prepared": packet(0x87, 9),
}

# name -> (frame bytes, expected error code name)
MALFORMED = {
    "zero_length": (u32(0), "malformed_packet"),
    "oversized_length": (u32(1024 * 1024 + 1), "packet_too_large"),
    "short_header": (frame(u8(0x01) + b"\x00\x00"), "malformed_packet"),
    "unknown_type": (packet(0x42, 9, u32(1)), "unknown_packet_type"),
    "truncated_hello": (packet(0x01, 1, b"\x00\x00"), "malformed_packet"),
    "trailing_bytes": (packet(0x06, 6, b"\x00"), "malformed_packet"),
    "string_length_overrun": (packet(0x05, 5, u32(1000) + b"abc"), "malformed_packet"),
    "args_count_overrun": (packet(0x02, 2, string(b"echo") + u32(0xFFFFFFFF)), "malformed_packet"),
    "bad_stream": (packet(0x83, 2, u8(3) + string(b"x")), "malformed_packet"),
    "empty_data_out": (packet(0x83, 2, u8(1) + string(b"")), "malformed_packet"),
    "bad_exit_reason": (packet(0x84, 2, u8(200) + bytes(39) + string(b"")), "malformed_packet"),
    "truncated_stdin_credit": (packet(0x86, 2, b"\x00\x00\x01"), "malformed_packet"),
    "trailing_set_shutdown_grace": (packet(0x08, 8, u32(300) + b"\x00"), "malformed_packet"),
    "error_code_after_last": (packet(0x85, 2, u16(17) + u8(0) + string(b"") + string(b"")),
                              "malformed_packet"),
    "bad_error_code": (packet(0x85, 2, u16(999) + u8(0) + string(b"") + string(b"")),
                       "malformed_packet"),
    # Version 3: a Start whose env count (1000) claims more strings than the bytes after it could
    # hold, and a Prepared, which has no fields, with one byte after its header.
    "start_env_count_overrun": (packet(0x0a, 10, string(b"echo") + strings([])
                                       + u32(1000) + string(b"A=1") + string(b"/tmp")),
                                "malformed_packet"),
    "trailing_prepared": (packet(0x87, 9, b"\x00"), "malformed_packet"),
}


def main():
    for name, data in VECTORS.items():
        with open(os.path.join(HERE, name + ".bin"), "wb") as f:
            f.write(data)
        with open(os.path.join(FUZZ_SEEDS, name + ".bin"), "wb") as f:
            f.write(data[4:])
    with open(os.path.join(HERE, "malformed", "expected.txt"), "w") as listing:
        listing.write("# <vector> <error code every decoder must report>\n")
        for name, (data, code) in MALFORMED.items():
            with open(os.path.join(HERE, "malformed", name + ".bin"), "wb") as f:
                f.write(data)
            listing.write(f"{name} {code}\n")


if __name__ == "__main__":
    main()

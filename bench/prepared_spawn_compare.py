#!/usr/bin/env python3
"""A start through the port, on demand and prepared: /bin/true run to its exit under a profile,
interleaved, ROUNDS times; medians and ratios to the first variant.

    bench/prepared_spawn_compare.py ROUNDS RESIN PROFILE_JSON

  on demand   StartProcess sent -> ExitStatus received (the sandbox built on the request)
  prepared    Start sent -> ExitStatus received, the sandbox built by an earlier Prepare
  prepare     Prepare sent -> Prepared received (the part the pool pays ahead)

Each round spawns a fresh `resin --port` per variant and handshakes (protocol 3) before the clock
starts, so the figures are resin's, not its exec's. e.g.
    bench/prepared_spawn_compare.py 300 build/release/src/host/resin '{"extends":"default"}'
"""
import os
import statistics
import struct
import sys
import time

HELLO, START_PROCESS, GRANT_CREDIT, PREPARE, START = 0x01, 0x02, 0x07, 0x09, 0x0A
HELLO_REPLY, EXIT_STATUS, ERROR_REPORT, PREPARED = 0x81, 0x84, 0x85, 0x87


def string(text: bytes) -> bytes:
    return struct.pack(">I", len(text)) + text


def strings(items) -> bytes:
    return struct.pack(">I", len(items)) + b"".join(string(i) for i in items)


def frame(kind: int, request_id: int, body: bytes = b"") -> bytes:
    packet = struct.pack(">BI", kind, request_id) + body
    return struct.pack(">I", len(packet)) + packet


class Resin:
    def __init__(self, path: str):
        to_resin_r, self.to_resin = os.pipe()
        self.from_resin, from_resin_w = os.pipe()
        actions = [
            (os.POSIX_SPAWN_DUP2, to_resin_r, 3),
            (os.POSIX_SPAWN_DUP2, from_resin_w, 4),
        ]
        self.pid = os.posix_spawn(path, [path, "--port"], os.environ, file_actions=actions)
        os.close(to_resin_r)
        os.close(from_resin_w)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        os.write(self.to_resin, data)

    def receive(self) -> tuple:
        while True:
            if len(self.buffer) >= 4:
                (size,) = struct.unpack(">I", self.buffer[:4])
                if len(self.buffer) >= 4 + size:
                    packet = self.buffer[4 : 4 + size]
                    self.buffer = self.buffer[4 + size :]
                    return packet[0], packet[5:]
            chunk = os.read(self.from_resin, 65536)
            if not chunk:
                raise RuntimeError("resin closed the port")
            self.buffer += chunk

    def until(self, kind: int) -> None:
        while True:
            got, body = self.receive()
            if got == kind:
                return
            if got == ERROR_REPORT:
                raise RuntimeError(f"resin: {body!r}")

    def close(self) -> None:
        os.close(self.to_resin)
        os.close(self.from_resin)
        os.waitpid(self.pid, 0)


def handshaken(path: str) -> Resin:
    resin = Resin(path)
    resin.send(frame(HELLO, 1, struct.pack(">I", 3)) + frame(GRANT_CREDIT, 2, struct.pack(">I", 0xFFFFFFFF)))
    resin.until(HELLO_REPLY)
    return resin


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    rounds, path, config = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
    command = string(b"/bin/true") + strings([])
    times = {"on demand": [], "prepared": [], "prepare": []}
    for _ in range(rounds):
        resin = handshaken(path)
        begin = time.perf_counter()
        resin.send(frame(START_PROCESS, 3, command + string(config)))
        resin.until(EXIT_STATUS)
        times["on demand"].append((time.perf_counter() - begin) * 1000)
        resin.close()

        resin = handshaken(path)
        begin = time.perf_counter()
        resin.send(frame(PREPARE, 3, string(config)))
        resin.until(PREPARED)
        times["prepare"].append((time.perf_counter() - begin) * 1000)
        begin = time.perf_counter()
        resin.send(frame(START, 4, command + strings([]) + string(b"")))
        resin.until(EXIT_STATUS)
        times["prepared"].append((time.perf_counter() - begin) * 1000)
        resin.close()
    baseline = statistics.median(times["on demand"])
    print(f"/bin/true, {config.decode()}: median of {rounds} interleaved rounds")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"  {label:10s} {median:7.2f} ms  {median / baseline:5.2f}x on demand")
    return 0


if __name__ == "__main__":
    sys.exit(main())

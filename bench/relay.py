"""Relay overhead: direct vs a bare line relay vs ``mcpwall wrap`` (monitor mode, audit on).

For 100 B and 10 KB ``tools/call`` requests to an echo server (and to
@modelcontextprotocol/server-everything's ``echo`` tool when its npm package is installed),
prints p50/p99 round-trip latency with one request in flight, the latency mcpwall adds over
direct, and messages/s with 1 and 32 requests in flight. The client is a raw JSON-RPC
line client, so what is measured is the relay, not an SDK.

    python bench/relay.py [--requests N] [--rounds R] [--policy FILE] [--json]

Each case runs direct, bare and mcpwall one after the other, ``--rounds`` times (3 by
default); every figure printed is the median over the rounds, and the last lines list the
per-round ratios. On a shared two-core machine one short run moves by +-30 %.

Targets (issue 2): added p50 <= 250 us at 100 B; throughput at 32 in flight >= 0.85x the
bare relay's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ECHO = [sys.executable, str(ROOT / "tests" / "servers" / "echo_server.py")]
BARE = [sys.executable, str(ROOT / "bench" / "bare_relay.py")]
EVERYTHING = ROOT / "tests" / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"


def call(msg_id: int, size: int) -> bytes:
    body = {"jsonrpc": "2.0", "id": msg_id, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": ""}}}
    pad = size - len(json.dumps(body))
    body["params"]["arguments"]["message"] = "x" * max(pad, 0)  # type: ignore[index]
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


class Client:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        assert proc.stdin and proc.stdout
        self.w, self.r = proc.stdin, proc.stdout

    @classmethod
    async def start(cls, argv: list[str], env: dict[str, str]) -> Client:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, env=env, limit=1 << 26,
        )
        return cls(proc)

    async def initialize(self) -> None:
        init = {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
        self.w.write(json.dumps(init).encode() + b"\n")
        await self.w.drain()
        while True:
            msg = json.loads(await self.r.readline())
            if msg.get("id") == "init":
                break
        self.w.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        await self.w.drain()

    async def _read_reply(self) -> None:
        while True:
            line = await self.r.readline()
            if not line:
                raise RuntimeError("peer closed")
            msg = json.loads(line)
            if "id" in msg and "method" not in msg:
                return

    async def latency(self, n: int, size: int, start_id: int) -> list[float]:
        out = []
        for i in range(n):
            data = call(start_id + i, size)
            t0 = time.perf_counter_ns()
            self.w.write(data)
            await self.w.drain()
            await self._read_reply()
            out.append((time.perf_counter_ns() - t0) / 1000)
        return out

    async def throughput(self, n: int, size: int, inflight: int, start_id: int) -> float:
        sem = asyncio.Semaphore(inflight)
        done = asyncio.Event()
        received = 0

        async def reader() -> None:
            nonlocal received
            while received < n:
                await self._read_reply()
                received += 1
                sem.release()
            done.set()

        task = asyncio.create_task(reader())
        t0 = time.perf_counter()
        for i in range(n):
            await sem.acquire()
            self.w.write(call(start_id + i, size))
            await self.w.drain()
        await done.wait()
        elapsed = time.perf_counter() - t0
        await task
        return n / elapsed

    async def close(self) -> None:
        self.w.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def measure(argv: list[str], env: dict[str, str], size: int, n: int, init: bool) -> dict[str, float]:
    client = await Client.start(argv, env)
    try:
        if init:
            await client.initialize()
        await client.latency(min(200, n), size, 10_000_000)  # warm-up
        lat = await client.latency(n, size, 0)
        tp1 = await client.throughput(n, size, 1, 1_000_000)
        tp32 = await client.throughput(n * 2, size, 32, 2_000_000)
    finally:
        await client.close()
    lat.sort()
    return {"p50": statistics.median(lat), "p99": lat[int(len(lat) * 0.99) - 1], "tp1": tp1, "tp32": tp32}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="mcpwall-bench-"))
    env = {**os.environ, "MCPWALL_STATE_DIR": str(tmp / "state")}
    wrap = [sys.executable, "-m", "mcpwall", "wrap", "--mode", "monitor", "--audit", str(tmp / "audit.db")]
    if args.policy:
        wrap += ["--config", args.policy]
    servers: list[tuple[str, list[str], bool]] = [("echo", ECHO, False)]
    if EVERYTHING.exists() and not args.echo_only:
        servers.append(("server-everything", ["node", str(EVERYTHING), "stdio"], True))
    results: dict[str, Any] = {}
    paths = (("direct", []), ("bare", BARE), ("mcpwall", [*wrap, "--"]))
    for server_name, server, init in servers:
        for size in (100, 10_000):
            n = args.requests if server_name == "echo" else max(args.requests // 4, 200)
            rounds: list[dict[str, dict[str, float]]] = []
            for _ in range(args.rounds):  # interleaved, so a slow spell hits every path alike
                rounds.append({label: await measure([*prefix, *server], env, size, n, init)
                               for label, prefix in paths})
            row: dict[str, Any] = {label: {k: statistics.median(r[label][k] for r in rounds)
                                           for k in rounds[0][label]} for label, _ in paths}
            row["ratios"] = [r["mcpwall"]["tp32"] / r["bare"]["tp32"] for r in rounds]
            row["added"] = [r["mcpwall"]["p50"] - r["direct"]["p50"] for r in rounds]
            results[f"{server_name} {size} B"] = row
    return results


def report(results: dict[str, Any]) -> None:
    print(f"{'case':<28}{'path':<9}{'p50 us':>9}{'p99 us':>9}{'added p50':>11}{'msg/s @1':>10}{'msg/s @32':>11}{'vs bare @32':>13}")
    for case, row in results.items():
        for label in ("direct", "bare", "mcpwall"):
            r = row[label]
            added = f"{r['p50'] - row['direct']['p50']:.0f}" if label != "direct" else "-"
            ratio = f"{r['tp32'] / row['bare']['tp32']:.2f}x" if label == "mcpwall" else ""
            print(f"{case:<28}{label:<9}{r['p50']:>9.0f}{r['p99']:>9.0f}{added:>11}{r['tp1']:>10.0f}{r['tp32']:>11.0f}{ratio:>13}")
    for case, row in results.items():
        if case.endswith(" 100 B"):
            added = row["mcpwall"]["p50"] - row["direct"]["p50"]
            ratio = row["mcpwall"]["tp32"] / row["bare"]["tp32"]
            print(f"{case}: added p50 {added:.0f} us (target <= 250): {'OK' if added <= 250 else 'MISS'}; "
                  f"throughput @32 {ratio:.2f}x bare (target >= 0.85): {'OK' if ratio >= 0.85 else 'MISS'}")
    for case, row in results.items():
        print(f"{case}: per round: added p50 {', '.join(f'{a:.0f}' for a in row['added'])} us; "
              f"throughput @32 {', '.join(f'{r:.2f}' for r in row['ratios'])}x bare")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000, help="requests per measurement (echo server)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved runs per case (medians are printed)")
    ap.add_argument("--policy", help="mcpwall config file to run with (e.g. a 50-rule policy)")
    ap.add_argument("--echo-only", action="store_true", help="skip server-everything")
    ap.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = ap.parse_args()
    results = asyncio.run(run(args))
    report(results)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

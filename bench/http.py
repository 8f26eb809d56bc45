"""Benchmark: a Streamable HTTP echo server, directly and through ``mcpwall proxy``.

    python bench/http.py [--requests 3000] [--concurrency 32] [--seconds 5]

Starts a local echo upstream (a plain ASGI app on uvicorn + httptools that answers every
request with its params as JSON), then ``mcpwall proxy`` in front of it (monitor mode, the
default inspectors, audit log on), and measures with an aiohttp client:

- latency with one request in flight: p50/p99 direct, through mcpwall, and the difference;
- requests/s with ``--concurrency`` requests in flight, direct and through mcpwall.

Client, proxy and upstream share the machine's cores, so the figures are for this machine.
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's ``http`` package: drop its directory from
# the import path before anything imports ``http``.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import tempfile
import time
from typing import Any

import aiohttp

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


# --- the echo upstream (run in its own process) ---------------------------------------------


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        return
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    headers = [(b"content-type", b"application/json")]
    if scope["method"] != "POST":
        await send({"type": "http.response.start", "status": 405, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    req = json.loads(body)
    if "id" not in req:
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if req.get("method") == "initialize":
        headers.append((b"mcp-session-id", b"echo-session"))
        result: Any = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                       "serverInfo": {"name": "echo", "version": "1"}}
    else:
        result = {"content": [{"type": "text", "text": json.dumps(req.get("params"))}]}
    out = json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": out})


def serve_echo(port: int) -> None:
    import uvicorn

    uvicorn.run(echo_app, host="127.0.0.1", port=port, log_level="warning", access_log=False, http="httptools",
                loop="uvloop" if _has_uvloop() else "asyncio")


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


# --- the load ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class Target:
    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http
        self.headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
                        "mcp-protocol-version": "2025-06-18"}
        self.next_id = 1

    async def start(self) -> None:
        async with self.http.post(self.url, data=json.dumps(INIT), headers=self.headers) as r:
            assert r.status == 200, r.status
            await r.read()
            self.headers["mcp-session-id"] = r.headers["mcp-session-id"]
        async with self.http.post(self.url, data=b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
                                  headers=self.headers) as r:
            await r.read()

    async def call(self) -> float:
        msg_id = self.next_id
        self.next_id += 1
        body = (f'{{"jsonrpc":"2.0","id":{msg_id},"method":"tools/call","params":{{"name":"echo",'
                '"arguments":{"text":"hello world, this is a short tool call"}}}').encode()
        t0 = time.perf_counter()
        async with self.http.post(self.url, data=body, headers=self.headers) as r:
            data = await r.read()
        elapsed = time.perf_counter() - t0
        if r.status != 200 or b'"result"' not in data:
            raise RuntimeError(f"bad answer {r.status}: {data[:200]!r}")
        return elapsed


async def latency(target: Target, n: int) -> list[float]:
    for _ in range(200):
        await target.call()  # warm-up
    return [await target.call() for _ in range(n)]


async def throughput(target: Target, concurrency: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await target.call()
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - t0)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def measure(args: argparse.Namespace, direct_url: str, proxy_url: str) -> None:
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        direct, proxied = Target(direct_url, http), Target(proxy_url, http)
        await direct.start()
        await proxied.start()
        lat_d = await latency(direct, args.requests)
        lat_p = await latency(proxied, args.requests)
        rps_d = await throughput(direct, args.concurrency, args.seconds)
        rps_p = await throughput(proxied, args.concurrency, args.seconds)
    ms = 1000.0
    print(f"latency, 1 in flight, {args.requests} tool calls (ms):")
    print(f"  direct         p50 {pct(lat_d, 50) * ms:7.3f}   p99 {pct(lat_d, 99) * ms:7.3f}")
    print(f"  through mcpwall p50 {pct(lat_p, 50) * ms:6.3f}   p99 {pct(lat_p, 99) * ms:7.3f}")
    print(f"  added          p50 {(pct(lat_p, 50) - pct(lat_d, 50)) * ms:7.3f}   "
          f"p99 {(pct(lat_p, 99) - pct(lat_d, 99)) * ms:7.3f}   (mean added "
          f"{(statistics.mean(lat_p) - statistics.mean(lat_d)) * ms:.3f})")
    print(f"throughput, {args.concurrency} in flight, {args.seconds:g} s each (requests/s):")
    print(f"  direct          {rps_d:8.0f}")
    print(f"  through mcpwall {rps_p:8.0f}   ({rps_p / rps_d:.2f}x of direct)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--serve-echo", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        serve_echo(args.serve_echo)
        return 0
    echo_port, proxy_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="mcpwall-bench-") as tmp:
        env = {**os.environ, "MCPWALL_STATE_DIR": tmp, "MCPWALL_AUDIT__PATH": os.path.join(tmp, "audit.db"),
               "MCPWALL_LOG__LEVEL": "warning"}
        echo = subprocess.Popen([sys.executable, __file__, "--serve-echo", str(echo_port)])
        proxy = subprocess.Popen([sys.executable, "-m", "mcpwall", "proxy", "--upstream",
                                  f"http://127.0.0.1:{echo_port}/mcp", "--listen", f"127.0.0.1:{proxy_port}"], env=env)
        try:
            wait_port(echo_port)
            wait_port(proxy_port)
            print(f"mcpwall proxy (monitor mode, audit on: {env['MCPWALL_AUDIT__PATH']}) in front of a local "
                  "Streamable HTTP echo server")
            runner = asyncio.run
            if _has_uvloop():
                import uvloop

                runner = uvloop.run
            runner(measure(args, f"http://127.0.0.1:{echo_port}/mcp", f"http://127.0.0.1:{proxy_port}/mcp"))
            rows = subprocess.run([sys.executable, "-m", "mcpwall", "logs", "--audit", env["MCPWALL_AUDIT__PATH"],
                                   "--limit", "1", "--format", "jsonl"], capture_output=True, text=True, env=env)
            print("audit rows written:", "yes" if rows.stdout.strip() else f"none? {rows.stderr.strip()[:200]}")
        finally:
            for p in (proxy, echo):
                p.terminate()
                p.wait(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())

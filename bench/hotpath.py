"""The relay's Python work per request+response, in one process, without pipes or peers.

A ``tools/call`` request and its response go through ``Relay.from_client`` /
``Relay.from_server`` with the real pipeline and audit sink; the peers only collect bytes.
Prints the event loop thread's CPU per pair, and with the audit on, the whole process's
CPU (without the audit writer process). This isolates mcpwall's own cost from the
pipes, the scheduler and the peers, so changes to the hot path can be compared quickly.

    python bench/hotpath.py [--pairs N] [--config FILE] [--no-audit] [--size BYTES]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from mcpwall.app import App
from mcpwall.config import Settings, load
from mcpwall.relay import Outgoing


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def send(self, out: Outgoing) -> None:
        self.count += 1


def messages(n: int, size: int) -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(n):
        body = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": ""}}}
        pad = max(size - len(json.dumps(body)), 0)
        body["params"]["arguments"]["message"] = "x" * pad  # type: ignore[index]
        req = json.dumps(body, separators=(",", ":")).encode()
        resp = json.dumps({"jsonrpc": "2.0", "id": i, "result": {"content": [
            {"type": "text", "text": "x" * pad}]}}, separators=(",", ":")).encode()
        out.append((req, resp))
    return out


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mcpwall-hot-"))
    env = {**os.environ, "MCPWALL_STATE_DIR": str(tmp / "state")}
    overrides = {"mode": "monitor", "audit.path": str(tmp / "a.db"), "audit.enabled": not args.no_audit}
    if args.no_detection and "detection" in Settings.model_fields:
        overrides["detection.enabled"] = False
    settings = load(args.config, env=env, overrides=overrides)
    app = App(settings, env)
    client, server = Sink(), Sink()
    relay = app.relay("bench", client=client, server=server)
    init = b'{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18",' \
           b'"capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
    await relay.from_client(init)
    await relay.from_server(b'{"jsonrpc":"2.0","id":"init","result":{"protocolVersion":"2025-06-18",'
                            b'"capabilities":{"tools":{}},"serverInfo":{"name":"echo","version":"1"}}}')
    warm = messages(500, args.size)
    for req, resp in warm:
        await relay.from_client(req)
        await relay.from_server(resp)
    pairs = messages(args.pairs, args.size)
    batch = 32
    t_wall = time.perf_counter()
    t_thread = time.thread_time()
    t_proc = time.process_time()
    for start in range(0, len(pairs), batch):
        group = pairs[start:start + batch]
        for req, _ in group:
            await relay.from_client(req)
        for _, resp in group:
            await relay.from_server(resp)
        await asyncio.sleep(0)  # one event-loop turn per group, as a pump reading 32 lines gives
    loop_cpu = time.thread_time() - t_thread
    flush = getattr(app.audit, "flush", None)
    if flush is not None:
        await flush()
    proc_cpu = time.process_time() - t_proc
    wall = time.perf_counter() - t_wall
    n = len(pairs)
    print(f"loop thread {loop_cpu / n * 1e6:6.1f} us/pair   process {proc_cpu / n * 1e6:6.1f} us/pair   "
          f"wall {wall / n * 1e6:6.1f} us/pair   ({n} pairs, {server.count + client.count} sends)")
    await app.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=20000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--config", help="mcpwall config file (e.g. bench/policy50.yaml)")
    ap.add_argument("--no-audit", action="store_true")
    ap.add_argument("--no-detection", action="store_true", help="switch the detection inspector off")
    ap.add_argument("--profile", help="write a cProfile of the run to this file")
    args = ap.parse_args()
    sys.setswitchinterval(0.0005)  # as mcpwall's CLI does
    if args.profile:
        import cProfile

        cProfile.runctx("asyncio.run(run(args))", globals(), {"args": args, "run": run}, args.profile)
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()

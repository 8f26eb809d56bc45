"""What detection adds to the pipeline, per message, in process (no pipes, no peers).

For ``tools/call`` requests of 100 B, 200 B and 10 KB (the shape bench/relay.py sends) and
their echoed results, prints the pipeline's p50 per message with detection off and on,
and the scanner alone; then, for a 2 MB result, the scan time and the longest event-loop
stall with the scan inline and on a worker thread (``detection.offload_bytes``).

    python bench/detection_pipeline.py [--n 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import string
import time
from typing import Any

from mcpwall import inspectors
from mcpwall.config import Settings
from mcpwall.detect.scanner import Scanner
from mcpwall.frame import Direction, Frame, decode
from mcpwall.inspectors.detection import DetectionInspector
from mcpwall.session import Session


def call(size: int) -> bytes:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                            "params": {"name": "echo", "arguments": {"message": ""}}}
    body["params"]["arguments"]["message"] = "x" * max(size - len(json.dumps(body)), 0)
    return json.dumps(body, separators=(",", ":")).encode()


def frame(raw: bytes, direction: Direction, request: Frame | None = None) -> Frame:
    f = decode(raw, direction)
    assert isinstance(f, Frame)
    if request is not None:
        f.request, f.method = request, request.method
    return f


async def per_message(n: int) -> None:
    print(f"{'message':<10} {'detection':<10} {'request p50 us':>15} {'result p50 us':>14}")
    for size in (100, 200, 10_000):
        raw = call(size)
        text = json.loads(raw)["params"]["arguments"]["message"]
        rraw = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text}]}}).encode()
        scanner: Scanner | None = None
        for on in (False, True):
            p = inspectors.build(Settings.model_validate({"pins": {"enabled": False}, "detection": {"enabled": on}}))
            s = Session()
            tq: list[float] = []
            tr: list[float] = []
            for _ in range(n):
                f = frame(raw, Direction.C2S)
                t = time.perf_counter()
                await p.run(f, s)
                tq.append(time.perf_counter() - t)
                r = frame(rraw, Direction.S2C, f)
                t = time.perf_counter()
                await p.run(r, s)
                tr.append(time.perf_counter() - t)
            print(f"{size:<10} {'on' if on else 'off':<10} {statistics.median(tq) * 1e6:>15.1f} "
                  f"{statistics.median(tr) * 1e6:>14.1f}")
            det = p.get("detection")
            if isinstance(det, DetectionInspector):
                scanner = det.scanner
        assert scanner is not None
        req = json.loads(raw)
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            scanner.scan_message(req, Direction.C2S, "tools/call", tool="echo")
            ts.append(time.perf_counter() - t)
        print(f"{size:<10} {'scan only':<10} {statistics.median(ts) * 1e6:>15.1f}")


async def offload() -> None:
    rnd = random.Random(1)
    words = ["".join(rnd.choices(string.ascii_lowercase, k=rnd.randint(2, 9))) for _ in range(2000)]
    text = " ".join(rnd.choices(words, k=400_000))[:2_000_000]
    raw = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text}]}}).encode()
    scanner = Scanner.from_settings({})
    f = frame(raw, Direction.S2C)
    f.method = "tools/call"
    for threshold in (0, 262_144):
        inspector = DetectionInspector(scanner, offload_bytes=threshold)
        stalls: list[float] = []
        times: list[float] = []
        for _ in range(5):
            stop = asyncio.Event()

            async def tick(stop: asyncio.Event = stop, stalls: list[float] = stalls) -> None:
                while not stop.is_set():
                    t = time.perf_counter()
                    await asyncio.sleep(0.001)
                    stalls.append(time.perf_counter() - t - 0.001)

            ticker = asyncio.create_task(tick())
            await asyncio.sleep(0.005)
            t = time.perf_counter()
            await inspector.inspect(f, Session())
            times.append(time.perf_counter() - t)
            stop.set()
            await ticker
        el = statistics.median(times)
        print(f"2 MB result, {'inline' if not threshold else 'worker thread'}: scan {el * 1e3:.1f} ms "
              f"({len(raw) / el / 1e6:.0f} MB/s), longest event-loop stall {max(stalls) * 1e3:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000, help="messages per measurement")
    args = ap.parse_args()
    asyncio.run(per_message(args.n))
    asyncio.run(offload())


if __name__ == "__main__":
    main()

"""Scanner speed with the full rule set and every detector on.

Prints: compile time (cold and from the cache), p50 latency for a 200-byte tool call and a
20 KB tool result, p50 for the relay benchmark's echo request and response through
``scan_frame`` (the frame prefilter on their wire bytes), and throughput on 5 MB of clean
mixed text/JSON/base64 and on 5 MB of adversarial input (near-miss prefixes, long runs,
unterminated structures).

    python bench/scan.py [--quick]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mcpwall.detect.engine import Engine
from mcpwall.detect.scanner import Scanner

RNG = random.Random(7)
WORDS = ["the", "server", "returns", "a", "list", "of", "files", "in", "the", "project", "directory", "and", "each", "entry", "has", "a", "name", "size", "and", "modification", "time", "configure", "the", "client", "with", "an", "access", "token", "stored", "in", "the", "environment", "then", "call", "the", "tool", "with", "the", "path", "argument", "the", "response", "contains", "structured", "content", "and", "text", "install", "dependencies", "run", "tests", "build", "the", "package", "publish", "release", "notes", "update", "documentation"]
CODE = '''def load_config(path: str) -> dict:
    """Read the YAML config; the password comes from the environment, never the file."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data["password"] = os.environ.get("DB_PASSWORD", "")
    for key, value in data.items():
        if value is None:
            raise ValueError(f"missing {key}")
    return data
'''


def prose(n: int) -> str:
    out: list[str] = []
    size = 0
    while size < n:
        sentence = " ".join(RNG.choice(WORDS) for _ in range(RNG.randint(6, 18))).capitalize() + ". "
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:n]


def json_blob(n: int) -> str:
    items = []
    size = 0
    i = 0
    while size < n:
        item = {
            "id": i,
            "name": f"item-{i}",
            "path": f"/srv/data/{RNG.choice(WORDS)}/{i}.json",
            "tags": RNG.sample(WORDS, 3),
            "score": round(RNG.random(), 4),
            "updated": "2024-06-07T12:34:56Z",
        }
        s = json.dumps(item)
        items.append(s)
        size += len(s) + 1
        i += 1
    return "[" + ",".join(items) + "]"


def b64_blob(n: int) -> str:
    raw = bytes(RNG.getrandbits(8) for _ in range(n * 3 // 4))
    text = base64.b64encode(raw).decode()
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def mixed(n: int) -> str:
    parts = []
    size = 0
    while size < n:
        kind = RNG.randrange(4)
        chunk = prose(4000) if kind == 0 else json_blob(4000) if kind == 1 else b64_blob(3000) if kind == 2 else CODE * 8
        parts.append(chunk)
        size += len(chunk)
    return "\n".join(parts)[:n]


def adversarial(n: int) -> str:
    seeds = [
        "../" * 2000,
        "%2e%2e%2f" * 800,
        "AKIA" * 2000,
        "a@" * 2000,
        "a@b." * 1500,
        "eyJ" * 2000 + "." + "eyJ" * 2000,
        "-----BEGIN " * 600,
        "x" * 8000,
        "A" * 8000,
        "0" * 8000,
        "4111 " * 1600,
        "![a](http://e.x/?" * 400,
        "[" * 8000,
        "\\u00" * 2000,
        "&#x" * 2000,
        "sk-" + "T3BlbkFJ" * 1000,
        "ghp_" * 2000,
        "password=\"" * 800,
        ":" * 8000,
        "1." * 4000,
        "; curl " * 1000,
        "rm -rf " * 1000,
        "a-" * 4000,
        "".join(RNG.choice(string.ascii_letters + string.digits) for _ in range(8000)),
    ]
    out = []
    size = 0
    i = 0
    while size < n:
        s = seeds[i % len(seeds)]
        out.append(s)
        size += len(s) + 1
        i += 1
    return "\n".join(out)[:n]


def tool_call_200() -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 17,
        "method": "tools/call",
        "params": {
            "name": "read_file",
            "arguments": {"path": "/home/user/project/README.md", "encoding": "utf-8", "max_lines": 200,
                          "note": "summarise the installation section"},
        },
    }


def result_20k() -> dict[str, Any]:
    text = prose(8000) + "\n```python\n" + CODE * 10 + "```\n" + json_blob(8000)
    return {
        "jsonrpc": "2.0",
        "id": 17,
        "result": {"content": [{"type": "text", "text": text[:20000]}], "isError": False},
    }


def p50_us(fn: Any, n: int) -> float:
    for _ in range(min(200, n)):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def throughput(scanner: Scanner, text: str, chunk: int) -> float:
    """MB/s scanning ``text`` as tool results of ``chunk`` characters each (0 = one message)."""
    pieces = [text] if chunk == 0 else [text[i : i + chunk] for i in range(0, len(text), chunk)]
    msgs = [{"jsonrpc": "2.0", "id": i, "result": {"content": [{"type": "text", "text": p}]}} for i, p in enumerate(pieces)]
    t = time.perf_counter()
    for m in msgs:
        scanner.scan_message(m, "s2c", "tools/call")
    dt = time.perf_counter() - t
    return len(text.encode()) / dt / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="1 MB inputs and fewer repetitions")
    args = ap.parse_args()
    size = 1_000_000 if args.quick else 5_000_000
    reps = 500 if args.quick else 3000

    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        cold = Engine.from_packs(cache=Path(cache))
        cold_s = time.perf_counter() - t
        t = time.perf_counter()
        engine = Engine.from_packs(cache=Path(cache))
        warm_s = time.perf_counter() - t
    print(f"rules: {len(engine.rules)}  backend: {engine.backend}")
    print(f"compile: cold {cold_s:.2f} s, from cache {warm_s * 1000:.0f} ms (cache hit: {engine.cache_hit})")
    del cold

    scanner = Scanner(engine)
    call = tool_call_200()
    res = result_20k()
    print(f"p50 200 B tool call ({len(json.dumps(call))} B): {p50_us(lambda: scanner.scan_message(call, 'c2s', 'tools/call'), reps):.1f} µs")
    print(f"p50 20 KB result ({len(json.dumps(res))} B): {p50_us(lambda: scanner.scan_message(res, 's2c', 'tools/call'), max(50, reps // 10)):.1f} µs")
    echo_req = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"message": "x" * 100}}}
    echo_res = {"jsonrpc": "2.0", "id": 7, "result": {"echo": echo_req["params"], "method": "tools/call"}}
    for label, obj, direction in (("request", echo_req, "c2s"), ("response", echo_res, "s2c")):
        raw = json.dumps(obj, separators=(",", ":")).encode()
        pre = scanner.scan_frame(raw, obj, direction, "tools/call").prefiltered
        frame_us = p50_us(lambda: scanner.scan_frame(raw, obj, direction, "tools/call"), reps)
        full_us = p50_us(lambda: scanner.scan_message(obj, direction, "tools/call"), reps)
        print(f"p50 relay echo {label} ({len(raw)} B): scan_frame {frame_us:.1f} µs (prefiltered: {pre}), "
              f"scan_message {full_us:.1f} µs")

    clean = mixed(size)
    adv = adversarial(size)
    for label, text in (("clean mixed text/JSON/base64", clean), ("adversarial", adv)):
        for chunk in (65536, 0):
            how = "64 KB messages" if chunk else "one message"
            findings = scanner.scan_message({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text[:200000]}]}},
                                            "s2c", "tools/call").findings
            print(f"{label}, {len(text) / 1e6:.0f} MB as {how}: {throughput(scanner, text, chunk):.0f} MB/s"
                  + (f"  (findings in first 200 KB: {len(findings)})" if chunk else ""))
    patterns_only = Scanner(engine, normalize=False, injection=False, hidden_unicode=False)
    print(f"patterns only, clean, one message: {throughput(patterns_only, clean, 0):.0f} MB/s; "
          f"adversarial: {throughput(patterns_only, adv, 0):.0f} MB/s")


if __name__ == "__main__":
    main()

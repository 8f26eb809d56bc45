"""Relay CPU per request+response: the bare line relay vs ``mcpwall wrap`` in several set-ups.

Wall-clock throughput on a shared 2-core machine moves with whatever else runs; the CPU
time the relay process itself spends (user + system, from ``/proc/<pid>/stat``) around a
run with 32 requests in flight does not. Linux only.

    python bench/cpu.py [--requests N] [--size BYTES] [--only NAME ...]

Set-ups: ``bare`` (bench/bare_relay.py); mcpwall in monitor mode with ``noaudit`` (audit
and detection off), ``audit`` (audit on, detection off), ``default`` (the default config:
audit and detection on, what bench/relay.py measures), ``rules50`` (audit on, detection
off, bench/policy50.yaml: 50 rules, pinning, data flow) and ``policy50`` (the same with
detection on). Reaching 0.85x the bare relay's
throughput with client and server also in Python on two cores needs roughly <= 25-30 us
per request+response.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from relay import BARE, ECHO, Client

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads(pid: int) -> list[int]:
    return [int(t) for t in os.listdir(f"/proc/{pid}/task")]


def writers(pid: int) -> list[int]:
    """The relay's audit writer process(es): their CPU is the relay's too."""
    out = []
    for tid in threads(pid):
        try:
            kids = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            try:
                if b"mcpwall.audit.writer" in Path(f"/proc/{kid}/cmdline").read_bytes():
                    out.append(int(kid))
            except OSError:
                pass
    return out


async def caught_up(db: Path, rows: int, timeout: float = 30.0) -> None:
    """Wait until the audit database holds ``rows`` rows (a benchmark may poll)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        con = sqlite3.connect(db)
        try:
            (have,) = con.execute("SELECT count(*) FROM audit").fetchone()
        finally:
            con.close()
        if have >= rows:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"the audit writer stored fewer than {rows} rows in {timeout} s")


async def one(argv: list[str], env: dict[str, str], n: int, size: int) -> tuple[float, float, float, float]:
    """(messages/s, relay CPU us per request+response with its audit writer, of which in the
    event loop's thread, of which in the writer process)."""
    client = await Client.start(argv, env)
    pid = client.proc.pid
    try:
        await client.latency(300, size, 5_000_000)  # warm-up
        helpers = writers(pid)
        before = cpu_seconds(pid)
        main_before = cpu_seconds(pid, pid)
        w_before = sum(cpu_seconds(w) for w in helpers)
        rate = await client.throughput(n, size, 32, 0)
        if "--audit" in argv:  # count the writer's work on every row of the run
            await caught_up(Path(argv[argv.index("--audit") + 1]), 2 * (300 + n))
        used = cpu_seconds(pid) - before
        main = cpu_seconds(pid, pid) - main_before
        written = sum(cpu_seconds(w) for w in helpers) - w_before
    finally:
        await client.close()
    return rate, (used + written) / n * 1e6, main / n * 1e6, written / n * 1e6


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mcpwall-cpu-"))
    env = {**os.environ, "MCPWALL_STATE_DIR": str(tmp / "state")}
    plain = tmp / "plain.yaml"  # the relay and audit alone
    plain.write_text("detection: {enabled: false}\n")
    noaudit = tmp / "noaudit.yaml"
    noaudit.write_text("detection: {enabled: false}\naudit: {enabled: false}\n")
    rules50 = tmp / "rules50.yaml"  # the 50 rules, pinning and data flow, detection off
    rules50.write_text((ROOT / "bench" / "policy50.yaml").read_text() + "\ndetection: {enabled: false}\n")
    wrap = [sys.executable, "-m", "mcpwall", "wrap", "--mode", "monitor"]
    setups = {
        "bare": [*BARE, *ECHO],
        "noaudit": [*wrap, "--config", str(noaudit), "--", *ECHO],
        "audit": [*wrap, "--audit", str(tmp / "a.db"), "--config", str(plain), "--", *ECHO],
        "default": [*wrap, "--audit", str(tmp / "d.db"), "--", *ECHO],
        "rules50": [*wrap, "--audit", str(tmp / "r.db"), "--config", str(rules50), "--", *ECHO],
        "policy50": [*wrap, "--audit", str(tmp / "p.db"), "--config", str(ROOT / "bench" / "policy50.yaml"),
                     "--", *ECHO],
    }
    for name, argv in setups.items():
        if args.only and name not in args.only:
            continue
        runs = [await one(argv, env, args.requests, args.size) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r[1])
        print(f"{name:10} {max(r[0] for r in runs):8.0f} msg/s @32   relay CPU {best[1]:6.1f} us per "
              f"request+response ({best[2]:.1f} in the loop thread, {best[3]:.1f} in the audit writer)  "
              f"runs: {', '.join(f'{r[1]:.1f}' for r in runs)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=8000)
    ap.add_argument("--size", type=int, default=100, help="bytes per tools/call request")
    ap.add_argument("--repeat", type=int, default=2, help="runs per set-up (best is printed)")
    ap.add_argument("--only", nargs="*", help="set-ups to run: bare noaudit audit default rules50 policy50")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()

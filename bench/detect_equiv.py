"""Findings of the whole scanner over a fixed set of inputs, to show that a speed change
leaves detection exactly as it was.

Inputs: every text of ``../shared/corpus/dev.jsonl`` and ``tests/corpus/**/*.jsonl`` scanned
with ``scan_text`` as a request, a response and a tool description, and as the text of a
tool result message (the scanner's fused pass); plus long documents (20 KB and 60 KB) made
of consecutive corpus texts joined by blank lines or by spaces, so that the injection
detector's windows around candidates (texts over ``FULL_SCAN_CHARS``) are exercised too,
and the 20 KB result of ``bench/scan.py``.

    python bench/detect_equiv.py dump OUT.jsonl      # one line per input: id and findings
    python bench/detect_equiv.py compare A.jsonl B.jsonl

``MCPWALL_SRC=DIR`` scans with the package under DIR instead (an exported older tree).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, os.environ.get("MCPWALL_SRC") or str(ROOT / "src"))

ROLES = ("request", "response", "tool_description")


def corpus_texts() -> list[tuple[str, str]]:
    files = [ROOT.parent / "shared" / "corpus" / "dev.jsonl", *sorted((ROOT / "tests" / "corpus").rglob("*.jsonl"))]
    out: list[tuple[str, str]] = []
    for f in files:
        if not f.exists():
            continue
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                row = json.loads(line)
                out.append((f"{f.name}:{n}:{row.get('id', '')}", str(row.get("text", ""))))
    return out


def long_documents(texts: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    for size in (20_000, 60_000):
        for sep in ("\n\n", " "):
            parts: list[str] = []
            total = 0
            k = 0
            for _, t in texts:
                parts.append(t)
                total += len(t) + len(sep)
                if total >= size:
                    yield f"long{size}{'nl' if sep != ' ' else 'sp'}:{k}", sep.join(parts)
                    parts, total = [], 0
                    k += 1


def inputs(quick: bool = False) -> Iterator[tuple[str, str, Any]]:
    """(id, kind, payload): kind is a role for scan_text or "message" for scan_message."""
    texts = corpus_texts()
    if quick:
        texts = texts[::7]
    for tid, text in texts:
        for role in ROLES:
            yield f"{tid}/{role}", role, text
        yield f"{tid}/message", "message", {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text}]}}
    for tid, text in long_documents(texts):
        for role in ("response", "tool_description"):
            yield f"{tid}/{role}", role, text
        yield f"{tid}/message", "message", {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text}]}}
    import scan as bench_scan

    yield "bench20k/message", "message", bench_scan.result_20k()


def finding_row(f: Any) -> list[Any]:
    return [f.category, f.rule, int(f.severity), f.message, f.path, list(f.span), f.detector,
            json.dumps(f.extra, sort_keys=True, default=str)]


def dump(out: Path, quick: bool) -> None:
    from mcpwall.detect.scanner import Scanner

    scanner = Scanner()
    t = time.process_time()
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        for iid, kind, payload in inputs(quick):
            if kind == "message":
                found = scanner.scan_message(payload, "s2c", "tools/call").findings
            else:
                found = scanner.scan_text(payload, kind, "$")
            rows = sorted(finding_row(f) for f in found)
            fh.write(json.dumps({"id": iid, "findings": rows}, ensure_ascii=False) + "\n")
            n += 1
    print(f"{n} inputs, {time.process_time() - t:.2f} s CPU -> {out}")


def compare(a: Path, b: Path) -> int:
    rows_a = [json.loads(x) for x in a.read_text(encoding="utf-8").splitlines()]
    rows_b = [json.loads(x) for x in b.read_text(encoding="utf-8").splitlines()]
    if [r["id"] for r in rows_a] != [r["id"] for r in rows_b]:
        print("the two dumps cover different inputs")
        return 2
    diff = [(ra, rb) for ra, rb in zip(rows_a, rows_b, strict=True) if ra["findings"] != rb["findings"]]
    total = sum(len(r["findings"]) for r in rows_a)
    print(f"{len(rows_a)} inputs, {total} findings in A; {len(diff)} inputs differ")
    for ra, rb in diff[:20]:
        print(ra["id"])
        print("  A:", ra["findings"])
        print("  B:", rb["findings"])
    return 1 if diff else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--quick", action="store_true", help="every seventh corpus text")
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = ap.parse_args()
    if args.cmd == "dump":
        dump(args.out, args.quick)
    else:
        sys.exit(compare(args.a, args.b))


if __name__ == "__main__":
    main()

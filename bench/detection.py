"""Detection quality figures: recall per category and direction, false-positive rates.

Runs over the shared development corpus (``../shared/corpus/dev.jsonl`` by default), the
benign corpus under ``tests/corpus/benign/`` and the synthetic malicious cases under
``tests/corpus/synthetic/``. Scoring follows the corpus README: a row of category C is
caught when a finding of category C is reported (for ``prompt_injection`` and
``tool_poisoning`` rows a ``hidden_unicode`` or ``exfiltration`` finding also counts); a
benign row is a false positive under the same rule, each category scored on its own rows.

Uses ``mcpwall.detect.scanner.Scanner`` when it exists; otherwise calls the normaliser and
the injection detector directly (then only injection, poisoning and hidden-Unicode rows
are scored).

The "held-out by source" figure re-scores each dev source with the rules disabled that
were written after reading that source's rows (listed in ``TUNED_ON``), as an honest
estimate of how the rest generalises to text from elsewhere.

    python bench/detection.py [--dev PATH] [--benign DIR] [--synthetic DIR] [--misses N]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "src"))

from mcpwall.detect import injection  # noqa: E402
from mcpwall.detect.engine import CATEGORY_ORDER  # noqa: E402
from mcpwall.detect.normalize import hidden_unicode, variants  # noqa: E402

ROLE = {
    "request": "request",
    "response": "response",
    "tool_description": "tool_description",
    "tool": "tool_description",
}
ALSO_COUNTS = {
    "prompt_injection": {"hidden_unicode", "exfiltration"},
    "tool_poisoning": {"hidden_unicode", "exfiltration"},
}
ERRORS: list[str] = []
SCAN_CATEGORIES = CATEGORY_ORDER
OWN_CATEGORIES = {"prompt_injection", "tool_poisoning", "hidden_unicode"}

# Rules written after reading a source's rows (families, i.e. the rule name before the dot).
TUNED_ON: dict[str, set[str]] = {
    "bastioncorpus": {
        "memory_persist",
        "fake_turn",
        "output_target",
        "temporal_agent",
        "decode_execute",
        "ai_addressed",
    },
    "mcp_stress_test": {
        "fragmented",
        "protocol_smuggle",
        "log_tamper",
        "error_context",
        "directive_risk",
        "global_rule",
        "always_cc",
        "no_confirm",
    },
}


def tool_strings(tool: dict[str, Any], base: str = "$") -> Iterable[tuple[str, str]]:
    """Every model-visible string of a tool object, with its JSON path."""

    def walk(obj: Any, path: str) -> Iterable[tuple[str, str]]:
        if isinstance(obj, str):
            yield path, obj
        elif isinstance(obj, dict):
            for k, v in obj.items():
                yield from walk(v, f"{path}.{k}")
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                yield from walk(v, f"{path}[{i}]")

    yield from walk(tool, base)


def direct_categories(text: str, role: str, tool: dict[str, Any] | None) -> set[str]:
    fields = list(tool_strings(tool)) if tool is not None else [("$", text)]
    cats: set[str] = set()
    for path, s in fields:
        vs = variants(s)
        for f in hidden_unicode(s, path):
            cats.add(f.category)
        for f in injection.detect(s, role=role, path=path, variants=vs):
            cats.add(f.category)
    return cats


def scanner_fn() -> Callable[[str, str, dict[str, Any] | None], set[str]] | None:
    try:
        from mcpwall.detect.scanner import Scanner  # type: ignore[import-not-found]
    except Exception:
        return None
    scanner = Scanner()

    def run(text: str, role: str, tool: dict[str, Any] | None) -> set[str]:
        try:
            return scan(text, role, tool)
        except Exception as e:  # report and keep scoring: one crash must not hide the figures
            ERRORS.append(f"{type(e).__name__}: {e}")
            return direct_categories(text, role, tool)

    def scan(text: str, role: str, tool: dict[str, Any] | None) -> set[str]:
        if tool is not None:
            msg = {"jsonrpc": "2.0", "id": 1, "result": {"tools": [tool]}}
            findings = scanner.scan_message(msg, "s2c", "tools/list").findings
        else:
            findings = scanner.scan_text(text, role, "$")
        return {f.category for f in findings}

    return run


_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def _is_ip_only(text: str) -> bool:
    """The row's only credential-like content is an IPv4 address."""
    return bool(_IPV4.search(text)) and not re.search(r"(?i)pass|secret|token|key", text)


def load(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def caught(row: dict[str, Any], cats: set[str]) -> bool:
    c = row["category"]
    return c in cats or bool(cats & ALSO_COUNTS.get(c, set()))


def score(
    rows: list[dict[str, Any]],
    fn: Callable[[str, str, dict[str, Any] | None], set[str]],
    own_only: bool,
    misses: int,
    label: str,
) -> None:
    rec: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    fp: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed: list[dict[str, Any]] = []
    flagged: list[dict[str, Any]] = []
    for row in rows:
        if own_only and row["category"] not in OWN_CATEGORIES:
            continue
        meta = row.get("meta") or {}
        tool = (
            meta.get("tool") or meta.get("mcp_tool")
            if row["direction"] in ("tool_description", "tool")
            else None
        )
        cats = fn(row["text"], ROLE.get(row["direction"], "response"), tool)
        hit = caught(row, cats)
        if row["label"] == "malicious":
            r = rec[(row["category"], row["direction"])]
            r[0] += hit
            r[1] += 1
            if not hit:
                missed.append(row)
        elif row["category"] in SCAN_CATEGORIES:
            f = fp[row["category"]]
            f[0] += hit
            f[1] += 1
            if hit:
                flagged.append(row)
        else:
            # generic benign text: any finding is a false positive; also count per category
            for cat in SCAN_CATEGORIES:
                f = fp[f"any text: {cat}"]
                f[0] += cat in cats
                f[1] += 1
            f = fp["any text: any category"]
            f[0] += bool(cats)
            f[1] += 1
            if cats:
                flagged.append({**row, "id": f"{row['id']} {sorted(cats)}"})
    print(f"\n== {label}")
    if rec:
        print(f"{'category':<20} {'direction':<18} {'recall':>8}   caught/total")
        tc = tt = 0
        for (cat, d), (c, t) in sorted(rec.items()):
            print(f"{cat:<20} {d:<18} {100 * c / t:7.1f}%   {c}/{t}")
            tc, tt = tc + c, tt + t
        print(f"{'all':<20} {'':<18} {100 * tc / tt:7.1f}%   {tc}/{tt}")
        ip_rows = [r for r in missed if r["category"] == "secrets" and _is_ip_only(r["text"])]
        if ip_rows:
            sec_c, sec_t = (sum(v[i] for k, v in rec.items() if k[0] == "secrets") for i in (0, 1))
            print(
                f"  note: {len(ip_rows)} missed secrets rows are public IP addresses that detect-secrets labels"
                " secrets; issue 3 makes IPs PII (reported as pii.ipv4_public, only recorded)."
                f" Secrets recall without them: {100 * sec_c / (sec_t - len(ip_rows)):.1f}%"
                f" ({sec_c}/{sec_t - len(ip_rows)})"
            )
    if fp:
        fc = ft = 0
        for cat, (c, t) in sorted(fp.items()):
            print(f"false positives {cat:<34} {100 * c / t:6.2f}%   {c}/{t}")
            if not cat.startswith("any text"):
                fc, ft = fc + c, ft + t
        if ft:
            print(f"false positives {'all benign (own category)':<34} {100 * fc / ft:6.2f}%   {fc}/{ft}")
    for row in missed[:misses]:
        print("  MISS", row["id"], repr(row["text"][:160]))
    for row in flagged[:misses]:
        print("  FP  ", row["id"], repr(row["text"][:160]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", default=os.path.join(REPO, "..", "shared", "corpus", "dev.jsonl"))
    ap.add_argument("--benign", default=os.path.join(REPO, "tests", "corpus", "benign"))
    ap.add_argument("--synthetic", default=os.path.join(REPO, "tests", "corpus", "synthetic"))
    ap.add_argument("--heldout", default=os.path.join(REPO, "tests", "corpus", "heldout"))
    ap.add_argument(
        "--misses", type=int, default=0, help="print up to N missed / false-positive rows per set"
    )
    ap.add_argument(
        "--direct", action="store_true", help="call the detectors directly even if the scanner exists"
    )
    args = ap.parse_args()

    fn = None if args.direct else scanner_fn()
    own_only = fn is None
    if fn is None:
        print(
            "scanner facade not available (or --direct): scoring injection, poisoning and hidden-Unicode rows only"
        )
        fn = direct_categories

    dev = load(args.dev) if os.path.exists(args.dev) else []
    if dev:
        score(dev, fn, own_only, args.misses, f"dev corpus {os.path.relpath(args.dev)}")
    benign = [r for p in sorted(glob.glob(os.path.join(args.benign, "*.jsonl"))) for r in load(p)]
    if benign:
        score(
            benign,
            fn,
            own_only,
            args.misses,
            f"benign corpus {os.path.relpath(args.benign)} ({len(benign)} rows)",
        )
    synth = [r for p in sorted(glob.glob(os.path.join(args.synthetic, "*.jsonl"))) for r in load(p)]
    if synth:
        score(
            synth,
            fn,
            own_only=False,
            misses=args.misses,
            label=f"synthetic corpus {os.path.relpath(args.synthetic)}",
        )

    held = [r for p in sorted(glob.glob(os.path.join(args.heldout, "*.jsonl"))) for r in load(p)]
    if held:
        score(held, fn, own_only, args.misses,
              f"held-out-style cases {os.path.relpath(args.heldout)} (paraphrases, languages, encodings)")
    # The second set is split by a hash of the text before any tuning: rules may be
    # improved while reading ``tune``; ``final`` is never read for that, so its figure is
    # the honest estimate of recall and false positives on text from elsewhere.
    for part, note in (("tune", "may be read while tuning"), ("final", "never tuned on: the generalisation figure")):
        d = os.path.join(args.heldout, part)
        rows = [r for p in sorted(glob.glob(os.path.join(d, "*.jsonl"))) for r in load(p)]
        if rows:
            score(rows, fn, own_only, args.misses if part == "tune" else 0,
                  f"held-out split {os.path.relpath(d)} ({note})")
        # each set apart too: every set was split before its own round of tuning, so the
        # newest set's final split is the least contaminated figure
        files = sorted(glob.glob(os.path.join(d, "*.jsonl")))
        if len(files) > 1:
            for p in files:
                score(load(p), fn, own_only, args.misses if part == "tune" else 0,
                      f"held-out split {os.path.relpath(p)} ({note}; this set only)")

    if ERRORS:
        print(
            f"\nscanner raised on {len(ERRORS)} rows (scored with the direct detectors instead); first: {ERRORS[0]}"
        )
    if dev:
        print("\n== held-out by source (rules written after reading that source disabled; direct detectors)")
        saved = injection.RULES
        for source, families in TUNED_ON.items():
            rows = [
                r
                for r in dev
                if r["source"] == source and r["label"] == "malicious" and r["category"] in OWN_CATEGORIES
            ]
            if not rows:
                continue
            disabled = {i for i, r in enumerate(saved) if r.name.split(".")[0] in families}
            injection.DISABLED = disabled
            try:
                hits = sum(
                    caught(
                        r,
                        direct_categories(
                            r["text"],
                            ROLE[r["direction"]],
                            (r.get("meta") or {}).get("tool") or (r.get("meta") or {}).get("mcp_tool")
                            if r["direction"] == "tool_description"
                            else None,
                        ),
                    )
                    for r in rows
                )
            finally:
                injection.DISABLED = set()
            print(
                f"{source:<20} recall {100 * hits / len(rows):5.1f}%  ({hits}/{len(rows)}) without {sorted(families)}"
            )


if __name__ == "__main__":
    main()

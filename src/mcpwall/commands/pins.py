"""``mcpwall pins list|show|diff|approve|reset``: review and approve what upstreams changed."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from ..config import state_db_path
from ..errors import ConfigError
from ..policy import pins
from ..state import PinEntry, StateStore, open_store


def _store(args: argparse.Namespace) -> StateStore:
    from ..cli import settings_from

    settings = settings_from(args)
    path = args.db if getattr(args, "db", None) else state_db_path(settings)
    return open_store(path)


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def drift_lines(store: StateStore, key: str) -> list[str]:
    """The diff between an upstream's pins and its latest listing, field by field."""
    pinned = store.pins(key)
    observed = store.observed(key)
    lines: list[str] = []
    for kind in sorted({k for k, _ in observed}):
        of_kind = {k: v for k, v in pinned.items() if k[0] == kind}
        drift = pins.diff(of_kind, [e for (k, _), e in observed.items() if k == kind], complete=True)
        for old, new in drift.changed:
            lines.append(f"~ {kind} {new.name!r} changed")
            lines.extend(pins.describe_change(old, new))
        for old, new in drift.renamed:
            lines.append(f"> {kind} {old.name!r} renamed to {new.name!r} (same content)")
        for e in drift.added:
            lines.append(f"+ {kind} {e.name!r} (new)")
            lines.extend(pins.describe_change(PinEntry(kind, e.name, "", "", "{}"), e))
        for e in drift.removed:
            lines.append(f"- {kind} {e.name!r} (no longer offered)")
    return lines


def cmd_list(args: argparse.Namespace) -> int:
    ups = _store(args).upstreams()
    if args.format == "json":
        json.dump(ups, sys.stdout, indent=2, default=str)
        print()
        return 0
    if not ups:
        print("no upstream pinned yet (pins are taken on the first tools/list through mcpwall)")
        return 0
    print(f"{'key':<16}  {'pinned':<28}  {'unapproved':<10}  {'approved':<19}  upstream")
    for u in ups:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(u["counts"].items()))
        print(f"{u['key']:<16}  {counts:<28}  {u['unapproved']:<10}  {_when(u['approved_at']):<19}  {u['label']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    key = store.resolve_upstream(args.upstream)
    pinned = store.pins(key)
    observed = store.observed(key)
    if args.format == "json":
        out: list[dict[str, Any]] = [
            {"kind": e.kind, "name": e.name, "hash": e.hash, "content": json.loads(e.content),
             "status": "ok" if observed.get(k, e).hash == e.hash else "changed"} for k, e in sorted(pinned.items())]
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0
    print(f"upstream {key}")
    for k, e in sorted(pinned.items()):
        seen = observed.get(k)
        status = "ok" if seen is None or seen.hash == e.hash else "CHANGED"
        print(f"  {e.kind:<18} {e.name:<32} {e.hash[:16]}  {status}")
    for k, e in sorted(observed.items()):
        if k not in pinned:
            print(f"  {e.kind:<18} {e.name:<32} {e.hash[:16]}  NOT PINNED")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    store = _store(args)
    key = store.resolve_upstream(args.upstream)
    lines = drift_lines(store, key)
    if not lines:
        print(f"upstream {key}: the latest listing matches the pins")
        return 0
    print(f"upstream {key}: the latest listing differs from the pins:")
    print("\n".join(lines))
    return 1


def cmd_approve(args: argparse.Namespace) -> int:
    store = _store(args)
    key = store.resolve_upstream(args.upstream)
    lines = drift_lines(store, key)
    if not lines:
        print(f"upstream {key}: nothing to approve")
        return 0
    print(f"upstream {key}: approving makes this the trusted version:")
    print("\n".join(lines))
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigError("not approving without a terminal to confirm on; pass --yes to approve from a script")
        answer = input("approve these changes? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("not approved")
            return 1
    names = None
    if args.name:
        observed = store.observed(key)
        pinned = store.pins(key)
        names = [k for k in {*observed, *pinned} if k[1] in args.name]
        if not names:
            raise ConfigError(f"none of {args.name} is offered or pinned by upstream {key}")
    n = store.approve(key, names)
    print(f"approved {n} item(s) of upstream {key}; quarantined items are released at their next call or listing")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    store = _store(args)
    key = None if args.all else store.resolve_upstream(args.upstream)
    what = "every upstream" if key is None else f"upstream {key}"
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigError("not resetting without a terminal to confirm on; pass --yes")
        if input(f"forget the pins of {what}? the next listing is trusted on first use [y/N] ").strip().lower() \
                not in ("y", "yes"):
            return 1
    n = store.reset(key)
    print(f"forgot {n} pin(s) of {what}")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", metavar="PATH", help="state database (default: pins.db or <state dir>/state.db)")
    p = sub.add_parser("pins", parents=[common], help="review and approve changes of upstream tools (pinning)")
    psub = p.add_subparsers(dest="pins_cmd", metavar="COMMAND", required=True)
    c = psub.add_parser("list", parents=[common, db], help="pinned upstreams and how many items drifted")
    c.add_argument("--format", choices=["table", "json"], default="table")
    c.set_defaults(handler=cmd_list)
    c = psub.add_parser("show", parents=[common, db], help="the pinned items of an upstream")
    c.add_argument("upstream", nargs="?", help="key, key prefix or part of the label (see pins list)")
    c.add_argument("--format", choices=["table", "json"], default="table")
    c.set_defaults(handler=cmd_show)
    c = psub.add_parser("diff", parents=[common, db], help="how the latest listing differs from the pins (exit 1 if it does)")
    c.add_argument("upstream", nargs="?")
    c.set_defaults(handler=cmd_diff)
    c = psub.add_parser("approve", parents=[common, db], help="show the diff, then trust the latest listing")
    c.add_argument("upstream", nargs="?")
    c.add_argument("--name", action="append", help="approve only this tool/prompt (repeatable)")
    c.add_argument("--yes", action="store_true", help="do not ask for confirmation (scripts)")
    c.set_defaults(handler=cmd_approve)
    c = psub.add_parser("reset", parents=[common, db], help="forget pins; the next listing is trusted on first use")
    c.add_argument("upstream", nargs="?")
    c.add_argument("--all", action="store_true", help="forget the pins of every upstream")
    c.add_argument("--yes", action="store_true")
    c.set_defaults(handler=cmd_reset)

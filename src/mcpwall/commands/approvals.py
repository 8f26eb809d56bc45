"""``mcpwall approvals list|grant|deny``: decide on calls a policy holds for human approval."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from datetime import datetime

from .pins import _store


def cmd_list(args: argparse.Namespace) -> int:
    items = _store(args).approvals(include_done=args.all)
    if args.format == "json":
        json.dump([asdict(a) for a in items], sys.stdout, indent=2)
        print()
        return 0
    if not items:
        print("no pending approvals")
        return 0
    now = time.time()
    for a in items:
        left = max(0, int(a.expires - now))
        when = datetime.fromtimestamp(a.created).strftime("%H:%M:%S")
        print(f"{a.id}  {a.status:<8} {when}  expires in {left}s  {a.tool or '-'} on {a.upstream or '-'} "
              f"(as {a.identity})\n          rule {a.rule}: {a.reason}\n          arguments: {a.arguments[:300]}")
    return 0


def _decide(args: argparse.Namespace, grant: bool) -> int:
    from ..cli import settings_from

    ttl = args.ttl if getattr(args, "ttl", None) else settings_from(args).policy.approvals.ttl_seconds
    a = _store(args).decide(args.id, grant, ttl=ttl, via="cli")
    if grant:
        print(f"granted {a.id}: the same call ({a.tool}) may now pass once, within {int(ttl)}s; retry it")
    else:
        print(f"denied {a.id}")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", metavar="PATH", help="state database (default: pins.db or <state dir>/state.db)")
    p = sub.add_parser("approvals", parents=[common], help="grant or deny calls waiting for human approval")
    asub = p.add_subparsers(dest="approvals_cmd", metavar="COMMAND", required=True)
    c = asub.add_parser("list", parents=[common, db], help="pending (and granted) approvals")
    c.add_argument("--all", action="store_true", help="include used, denied and expired ones")
    c.add_argument("--format", choices=["table", "json"], default="table")
    c.set_defaults(handler=cmd_list)
    c = asub.add_parser("grant", parents=[common, db], help="let that exact call pass once")
    c.add_argument("id")
    c.add_argument("--ttl", type=float, help="seconds the grant stays usable (default: policy.approvals.ttl_seconds)")
    c.set_defaults(handler=lambda a: _decide(a, True))
    c = asub.add_parser("deny", parents=[common, db], help="refuse it")
    c.add_argument("id")
    c.set_defaults(handler=lambda a: _decide(a, False))

"""``mcpwall policy check|explain|test``: know what a policy does before it is deployed."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..policy import tooling
from ..policy.engine import Facts
from ..verdict import Finding, Severity


def _file(args: argparse.Namespace) -> Path:
    target = getattr(args, "file", None) or args.config or os.environ.get("MCPWALL_CONFIG")
    if not target:
        raise ConfigError("name the policy or config file (or use --config)")
    return Path(target).expanduser()


def cmd_check(args: argparse.Namespace) -> int:
    path = _file(args)
    report = tooling.check(path)
    for e in report.errors:
        print(f"error: {e}", file=sys.stderr)
    for w in report.warnings:
        print(f"warning: {w}")
    if report.errors:
        return 1
    print(f"{path}: OK ({report.rules} rule(s) in {report.layers} layer(s), {len(report.warnings)} warning(s))")
    return 1 if args.strict and report.warnings else 0


def _finding(text: str) -> Finding:
    parts = text.split(":")
    severity = Severity.parse(parts[2]) if len(parts) > 2 and parts[2] else Severity.MEDIUM
    return Finding(parts[0], parts[1] if len(parts) > 1 else "", severity, detector="cli")


def cmd_explain(args: argparse.Namespace) -> int:
    path = _file(args)
    _, policy = tooling.load_policy_file(path)
    extra: dict[str, Any] = {
        "direction": args.direction, "upstream": args.upstream or "", "subject": args.subject,
        "roles": tuple(args.role or ()), "findings": [_finding(f) for f in args.finding or []],
        "touched": frozenset(args.touched or ()), "called": list(args.called or []),
    }
    if args.message:
        obj = json.loads(args.message)
        if not isinstance(obj, dict):
            raise ConfigError("--message must be a JSON-RPC message object")
        facts = tooling.facts_from_message(obj, **extra)
    else:
        try:
            arguments = json.loads(args.args) if args.args else {}
        except ValueError as e:
            raise ConfigError(f"--args is not JSON: {e}") from None
        facts = Facts(method=args.method, tool=args.tool, kind=args.kind, arguments=arguments, **extra)
    if facts.tool is not None:
        facts.labels = policy.labeller.labels(facts.tool, facts.upstream, None) | frozenset(args.label or ())
    final, lines = tooling.explain(policy, facts)
    what = f"{facts.method} {facts.tool}" if facts.tool else str(facts.method)
    print(f"{what} (labels {sorted(facts.labels)}, touched {sorted(facts.touched)}):")
    print("\n".join(lines))
    print(f"decision: {final.action} by {'rule ' + repr(final.name) if final.rule else 'the default'}"
          + (f": {final.reason}" if final.reason else ""))
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    path = _file(args)
    settings, _ = tooling.load_policy_file(path)
    report = asyncio.run(tooling.replay(settings, path.resolve(), Path(args.against).expanduser()))
    if args.format == "json":
        json.dump({"frames": report.frames, "skipped": report.skipped,
                   "changes": [c.__dict__ for c in report.changes]}, sys.stdout, indent=2, default=str)
        print()
    else:
        for c in report.changes:
            when = datetime.fromtimestamp(c.ts).strftime("%Y-%m-%d %H:%M:%S")
            what = f"{c.method} {c.tool}" if c.tool else str(c.method)
            print(f"#{c.seq} {when} {c.session[:8]} {c.direction} {what}: {c.before} -> {c.after}"
                  + (f" (rule {c.rule})" if c.rule else ""))
        print(f"{len(report.changes)} decision(s) would change out of {report.frames} replayed frame(s)"
              + (f"; {report.skipped} record(s) could not be replayed" if report.skipped else ""))
    return 1 if report.changes and args.fail_on_change else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("policy", parents=[common], help="check, explain and test policies")
    psub = p.add_subparsers(dest="policy_cmd", metavar="COMMAND", required=True)
    c = psub.add_parser("check", parents=[common], help="syntax, unknown keys, rules that never match or are shadowed")
    c.add_argument("file", nargs="?", help="policy or config file (default: --config)")
    c.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    c.set_defaults(handler=cmd_check)
    c = psub.add_parser("explain", parents=[common], help="which rule decides a message, and why")
    c.add_argument("file", nargs="?", help="policy or config file (default: --config)")
    c.add_argument("--message", help="a whole JSON-RPC message")
    c.add_argument("--method", default="tools/call")
    c.add_argument("--tool")
    c.add_argument("--args", help="tool arguments as JSON")
    c.add_argument("--kind", choices=["request", "notification", "response"], default="request")
    c.add_argument("--direction", choices=["c2s", "s2c"], default="c2s")
    c.add_argument("--upstream")
    c.add_argument("--subject", default="local")
    c.add_argument("--role", action="append")
    c.add_argument("--label", action="append", help="extra data-flow label of the tool")
    c.add_argument("--touched", action="append", help="label the session has already touched")
    c.add_argument("--called", action="append", help="tool the session called earlier")
    c.add_argument("--finding", action="append", help="category[:rule[:severity]] from detection")
    c.set_defaults(handler=cmd_explain)
    c = psub.add_parser("test", parents=[common], help="replay an audit log under a policy; print what changes")
    c.add_argument("file", nargs="?", help="the new policy or config file")
    c.add_argument("--against", required=True, metavar="AUDIT_DB", help="the audit database to replay")
    c.add_argument("--format", choices=["table", "json"], default="table")
    c.add_argument("--fail-on-change", action="store_true", help="exit 1 when any decision changes")
    c.set_defaults(handler=cmd_test)

"""The ``mcpwall`` command line.

Each subcommand is a small ``add_*`` function that declares its arguments and a ``cmd_*``
function that runs it. Every subcommand accepts ``--config``. Errors a user can fix are
printed as one clear message with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from . import __version__
from .config import DEFAULT_CONFIG, Settings, audit_path, load, read_file, validate
from .errors import ConfigError, McpwallError
from .transports.proxy import add_proxy

log = logging.getLogger("mcpwall")

Handler = Callable[[argparse.Namespace], int]


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", metavar="PATH", help="YAML config file (default: $MCPWALL_CONFIG)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="log verbosity")
    return p


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    flags = {k: v for k, v in overrides.items() if v is not None}
    if getattr(args, "log_level", None):
        flags["log.level"] = args.log_level
    return load(getattr(args, "config", None), overrides=flags)


def setup_logging(settings: Settings) -> None:
    root = logging.getLogger("mcpwall")
    root.handlers.clear()
    handler: logging.Handler
    if settings.log.file:
        handler = logging.FileHandler(settings.log.file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s mcpwall[%(process)d] %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(settings.log.level.upper())
    root.propagate = False


def run_loop(main: Any) -> int:
    """Run a coroutine on uvloop when it is installed (faster I/O), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return int(asyncio.run(main))
    return int(uvloop.run(main))


# --- wrap ---------------------------------------------------------------------------------


def add_wrap(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "wrap", parents=[common], help="run a stdio MCP server behind mcpwall",
        usage="mcpwall wrap [OPTIONS] ([--] COMMAND [ARGS...] | --upstream URL|NAME)",
        description="Start COMMAND as a stdio MCP server and relay this process's stdin/stdout to it, "
        "inspecting every message. Options go before the command. With --upstream, relay to a remote "
        "server (Streamable HTTP, legacy SSE or WebSocket) instead.",
    )
    p.add_argument("--upstream", metavar="URL|NAME", help="remote server URL, or a name under upstreams: in the config")
    p.add_argument("--upstream-transport", choices=["auto", "streamable-http", "sse", "websocket"], default="auto",
                   help="how to reach --upstream (auto: ws(s):// is WebSocket, a path ending in /sse legacy SSE)")
    p.add_argument("--mode", choices=["monitor", "enforce"], help="monitor records, enforce applies verdicts")
    p.add_argument("--audit", metavar="PATH", help="SQLite audit log path")
    p.add_argument("--env", metavar="KEY=VALUE", action="append", default=[],
                   help="extra environment variable for the server (repeatable)")
    p.add_argument("--max-message-bytes", type=int, metavar="N", help="largest message accepted")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the server command and its arguments")
    p.set_defaults(handler=cmd_wrap)


def _parse_env(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def cmd_wrap(args: argparse.Namespace) -> int:
    from .app import App
    from .transports.stdio import wrap

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if command and args.upstream:
        raise ConfigError("wrap takes either a server command or --upstream, not both")
    if not command and not args.upstream:
        raise ConfigError("wrap needs the command that starts the MCP server, e.g. "
                          "mcpwall wrap -- npx -y @modelcontextprotocol/server-everything")
    overrides = {
        "mode": args.mode, "audit.path": args.audit, "limits.max_message_bytes": args.max_message_bytes,
    }
    settings = settings_from(args, **overrides)
    setup_logging(settings)
    env = {**os.environ, **_parse_env(args.env)}

    async def run() -> int:
        app = App(settings)
        if settings.source is not None:
            app.loader = lambda: settings_from(args, **overrides)  # a reload keeps the flags
        if args.upstream:
            from .transports.proxy import resolve_upstream
            from .transports.remote import wrap_remote

            return await wrap_remote(app, resolve_upstream(settings, args.upstream, args.upstream_transport, env))
        return await wrap(app, command, env)

    return run_loop(run())


# --- logs -----------------------------------------------------------------------------------

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: float | None = None) -> float:
    """``90s``, ``15m``, ``1h``, ``2d``, ``1w`` ago, or an ISO 8601 time."""
    now = time.time() if now is None else now
    m = _DURATION.match(text.strip())
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--since expects a duration like 30m, 1h, 2d or an ISO time, got {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.astimezone()
    return dt.timestamp()


def add_logs(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("logs", parents=[common], help="show audit log records, newest first")
    p.add_argument("--audit", metavar="PATH", help="SQLite audit log path")
    p.add_argument("--since", help="only records newer than this (30m, 1h, 2d, or ISO time)")
    p.add_argument("--direction", help="c2s (client to server) or s2c")
    p.add_argument("--verdict", help="pass, modify, block, respond, invalid, drop")
    p.add_argument("--method", help="JSON-RPC method (glob)")
    p.add_argument("--tool", help="tool name (glob)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=["table", "json", "jsonl"], default="table")
    p.set_defaults(handler=cmd_logs)


def _audit_file(args: argparse.Namespace) -> Path:
    settings = settings_from(args, **{"audit.path": getattr(args, "audit", None)})
    return Path(audit_path(settings)).expanduser()


def cmd_logs(args: argparse.Namespace) -> int:
    from .audit.sqlite import query
    from .frame import Direction

    path = _audit_file(args)
    try:
        direction = Direction.parse(args.direction).value if args.direction else None
    except ValueError as e:
        raise ConfigError(f"--direction: {e}") from None
    if args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    rows = list(query(
        path, since=parse_since(args.since) if args.since else None, direction=direction,
        action=args.verdict, method=args.method, tool=args.tool, limit=args.limit,
    ))
    for r in rows:
        r["findings"] = json.loads(r["findings"]) if r.get("findings") else []
        r["msg_id"] = json.loads(r["msg_id"]) if r.get("msg_id") else None
        r["enforced"] = bool(r["enforced"])
    out = sys.stdout
    if args.format == "json":
        json.dump(rows, out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif args.format == "jsonl":
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    else:
        _table(rows)
    return 0


def _table(rows: list[dict[str, Any]]) -> None:
    headers = ["seq", "time", "dir", "method", "id", "tool", "verdict", "rule/reason"]
    lines = []
    for r in rows:
        when = datetime.fromtimestamp(r["ts"]).strftime("%Y-%m-%d %H:%M:%S")
        verdict = r["action"] + ("" if r["enforced"] or r["action"] in ("pass",) else " (monitor)")
        why = r.get("rule") or ""
        if r.get("reason"):
            why = f"{why}: {r['reason']}" if why else r["reason"]
        if r["findings"]:
            why = (why + " " if why else "") + f"[{len(r['findings'])} finding(s)]"
        msg_id = "" if r["msg_id"] is None else json.dumps(r["msg_id"])
        lines.append([str(r["seq"]), when, r["direction"] or "", r.get("method") or "", msg_id,
                      r.get("tool") or "", verdict, why[:80]])
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


# --- audit ------------------------------------------------------------------------------------


def add_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("audit", parents=[common], help="audit log tools")
    asub = p.add_subparsers(dest="audit_cmd", metavar="COMMAND", required=True)
    v = asub.add_parser("verify", parents=[common], help="check the HMAC chain of the audit log")
    v.add_argument("--audit", metavar="PATH", help="SQLite audit log path")
    v.set_defaults(handler=cmd_audit_verify)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from .app import audit_key
    from .audit.sqlite import verify

    settings = settings_from(args, **{"audit.path": args.audit})
    path = Path(audit_path(settings)).expanduser()
    result = verify(path, audit_key(settings))
    if result.ok:
        print(f"audit log {path}: chain intact ({result.rows} rows)")
        return 0
    print(f"audit log {path}: TAMPERED: {result.problem}", file=sys.stderr)
    if result.bad_seq is not None:
        print(f"first bad row: {result.bad_seq}", file=sys.stderr)
    return 1


# --- init / config ----------------------------------------------------------------------------


def add_init(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("init", parents=[common], help="write a commented default config file")
    p.add_argument("path", nargs="?", default="mcpwall.yaml", help="where to write it (default: mcpwall.yaml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.path).expanduser()
    if path.exists() and not args.force:
        raise ConfigError(f"{path} already exists; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DEFAULT_CONFIG, encoding="utf-8")
    print(f"wrote {path}; check it with: mcpwall config check {path}")
    return 0


def add_config(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("config", parents=[common], help="configuration tools")
    csub = p.add_subparsers(dest="config_cmd", metavar="COMMAND", required=True)
    c = csub.add_parser("check", parents=[common], help="validate a config file")
    c.add_argument("file", nargs="?", help="the file to check (default: --config or $MCPWALL_CONFIG)")
    c.set_defaults(handler=cmd_config_check)


def cmd_config_check(args: argparse.Namespace) -> int:
    target = args.file or args.config or os.environ.get("MCPWALL_CONFIG")
    if not target:
        raise ConfigError("config check needs a file: mcpwall config check PATH")
    try:
        validate(read_file(Path(target).expanduser()), str(target))
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"{target}: OK")
    return 0


# --- main -------------------------------------------------------------------------------------

def _pins_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    from .commands import pins

    pins.add_parser(sub, common)


def _approvals_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                      common: argparse.ArgumentParser) -> None:
    from .commands import approvals

    approvals.add_parser(sub, common)


def _policy_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    from .commands import policy

    policy.add_parser(sub, common)


def _scan_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    from . import scan

    scan.add_parser(sub, common)


ADDERS = [add_wrap, add_logs, add_audit, add_init, add_config, add_proxy, _pins_parser, _approvals_parser, _policy_parser,
          _scan_parser]


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="mcpwall", description="A security firewall for the Model Context Protocol.",
    )
    parser.add_argument("--version", action="version", version=f"mcpwall {__version__}")
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND", required=True)
    for add in ADDERS:
        add(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Worker threads (large messages are scanned off the event loop) hold the interpreter
    # lock for their Python work; with the default 5 ms switch interval the relay's event
    # loop could stall that long.
    sys.setswitchinterval(0.0005)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        code = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handling below
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `mcpwall logs | head`: the reader left; say nothing more, as Unix tools do.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except McpwallError as e:
        print(f"mcpwall: error: {e}", file=sys.stderr)
        return 2

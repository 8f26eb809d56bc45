"""``mcpwall scan``: run the detectors over text or recorded MCP traffic, offline.

Input is plain text, one JSON-RPC message, a JSON array of messages, or JSONL (one message
per line), from a file, stdin (``-``) or ``--text``. JSON that is not JSON-RPC (a tool
definition, a ``tools/list`` result) is scanned as what ``--direction`` says it is.

Output: ``text`` for people, ``json`` (one object per input message, in input order, so
JSONL in gives JSONL out) and ``sarif`` (SARIF 2.1.0, accepted by GitHub code scanning).
Exit status: 0 clean, 1 something found (or a field could not be inspected), 2 error.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .detect.fields import REQUEST, RESPONSE, TOOL_DESCRIPTION
from .detect.scanner import Scanner, ScanResult
from .verdict import Finding, Severity

# Requests a server sends to the client; everything else with a method comes from the client.
_SERVER_REQUESTS = frozenset({"sampling/createMessage", "elicitation/create", "roots/list", "ping"})
_SERVER_NOTIFICATIONS = frozenset({
    "notifications/message", "notifications/progress", "notifications/tools/list_changed",
    "notifications/prompts/list_changed", "notifications/resources/list_changed",
    "notifications/resources/updated", "notifications/elicitation/complete",
})
_ROLE_OF_DIRECTION = {"request": REQUEST, "response": RESPONSE, "tool": TOOL_DESCRIPTION}
_SARIF_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
                Severity.LOW: "note", Severity.INFO: "note"}
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                      Severity.LOW: "3.0", Severity.INFO: "1.0"}


class InputError(ValueError):
    """The input cannot be read or parsed."""


@dataclass
class Item:
    """One unit of input: a message (``obj``) or a plain text, with where it came from."""

    index: int
    line: int
    obj: Any = None
    text: str | None = None
    result: ScanResult = field(default_factory=ScanResult)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               common: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "scan",
        parents=[common] if common is not None else [],
        help="scan text or MCP messages for injection, secrets, PII and other threats",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", nargs="?", metavar="FILE|-", help="file to scan, or - for stdin")
    p.add_argument("--text", help="scan this text instead of a file")
    p.add_argument("--direction", choices=["request", "response", "tool"],
                   help="what the input is: a client request, a server response, or tool metadata "
                        "(default: inferred for JSON-RPC messages, response for text)")
    p.add_argument("--format", choices=["text", "json", "sarif"], default="text", help="output format")
    p.add_argument("--server", help="server name, for suppressions in the config")
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace) -> int:
    try:
        if (args.text is None) == (args.input is None):
            raise InputError("give a FILE, - for stdin, or --text TEXT (exactly one)")
        if args.text is not None:
            source, data = "text", args.text
        elif args.input == "-":
            source, data = "stdin", sys.stdin.read()
        else:
            path = Path(args.input)
            try:
                data = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise InputError(f"cannot read {path}: {e}") from None
            source = str(args.input)
        scanner = _scanner(args)
        items = parse_input(data, force_text=args.text is not None)
        for item in items:
            item.result = scan_item(scanner, item, args.direction, server=args.server)
    except InputError as e:
        print(f"mcpwall scan: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # config and pack errors are reported, never as tracebacks
        print(f"mcpwall scan: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    out = sys.stdout
    if args.format == "json":
        for item in items:
            out.write(json.dumps(item_json(item), ensure_ascii=False) + "\n")
    elif args.format == "sarif":
        json.dump(sarif(items, source, scanner), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        write_text(items, out)
    found = any(item.result.findings or item.result.uninspected for item in items)
    return 1 if found else 0


def _scanner(args: argparse.Namespace) -> Scanner:
    config = getattr(args, "config", None)
    if config:
        from .config import load

        return Scanner.from_settings(load(config).detection.scanner_options())
    return Scanner.from_settings({})


# --- input ---------------------------------------------------------------------------------


def parse_input(data: str, *, force_text: bool = False) -> list[Item]:
    """Split the input into messages, or one plain text when it is not JSON."""
    if force_text:
        return [Item(0, 1, text=data)]
    stripped = data.strip()
    if stripped[:1] in ("{", "["):
        try:
            value = json.loads(stripped)
        except ValueError:
            value = None
        else:
            if isinstance(value, list):
                return [Item(i, 1, obj=v) for i, v in enumerate(value)]
            return [Item(0, 1, obj=value)]
        lines = data.splitlines()
        items: list[Item] = []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                items.append(Item(len(items), n, obj=json.loads(line)))
            except ValueError:
                if items:
                    raise InputError(f"line {n} is not JSON (JSONL input needs one JSON value per line)") from None
                return [Item(0, 1, text=data)]
        return items
    return [Item(0, 1, text=data)]


def _direction_of(obj: dict[str, Any], forced: str | None) -> str:
    if forced == "request":
        return "c2s"
    if forced in ("response", "tool"):
        return "s2c"
    method = obj.get("method")
    if isinstance(method, str):
        return "s2c" if method in _SERVER_REQUESTS or method in _SERVER_NOTIFICATIONS else "c2s"
    return "s2c"


def _guess_method(obj: dict[str, Any]) -> str | None:
    result = obj.get("result")
    if isinstance(result, dict):
        for key, method in (("tools", "tools/list"), ("prompts", "prompts/list"),
                            ("resourceTemplates", "resources/templates/list"), ("resources", "resources/list"),
                            ("contents", "resources/read"), ("serverInfo", "initialize")):
            if key in result:
                return method
        if "content" in result:
            return "tools/call"
    return None


def scan_item(scanner: Scanner, item: Item, direction: str | None, *, server: str | None = None) -> ScanResult:
    if item.text is not None:
        role = _ROLE_OF_DIRECTION.get(direction or "response", RESPONSE)
        return ScanResult(findings=scanner.scan_text(item.text, role, server=server))
    obj = item.obj
    if isinstance(obj, dict) and obj.get("jsonrpc") == "2.0":
        method = obj.get("method") if isinstance(obj.get("method"), str) else None
        if method is None:
            method = _guess_method(obj)
            if direction == "tool":
                method = method if method in ("tools/list", "prompts/list", "resources/list",
                                              "resources/templates/list", "initialize") else "tools/list"
        tool = None
        params = obj.get("params")
        if method == "tools/call" and isinstance(params, dict) and isinstance(params.get("name"), str):
            tool = params["name"]
        return scanner.scan_message(obj, _direction_of(obj, direction), method, server=server, tool=tool)
    # Plain JSON: a tool definition, a list result, or arguments.
    if direction == "request":
        wrapped = {"jsonrpc": "2.0", "id": 0, "method": "tools/call", "params": obj}
        return _unwrap(scanner.scan_message(wrapped, "c2s", "tools/call", server=server), "$.params")
    looks_like_tool = isinstance(obj, dict) and ("inputSchema" in obj or "tools" in obj or "description" in obj)
    method = "tools/list" if direction == "tool" or (direction is None and looks_like_tool) else "tools/call"
    wrapped = {"jsonrpc": "2.0", "id": 0, "result": obj}
    return _unwrap(scanner.scan_message(wrapped, "s2c", method, server=server), "$.result")


def _unwrap(result: ScanResult, prefix: str) -> ScanResult:
    """Paths relative to the scanned document, not to the envelope added around it."""
    def fix(p: str) -> str:
        return "$" + p[len(prefix):] if p.startswith(prefix) else p

    findings = [_replace_path(f, fix(f.path)) for f in result.findings]
    return ScanResult(findings=findings, uninspected=[fix(p) for p in result.uninspected],
                      reasons={fix(k): v for k, v in result.reasons.items()})


def _replace_path(f: Finding, path: str) -> Finding:
    return Finding(f.category, f.rule, f.severity, f.message, path, f.span, f.detector, f.remediation, f.extra)


# --- output --------------------------------------------------------------------------------


def item_json(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"index": item.index}
    if isinstance(item.obj, dict) and "id" in item.obj:
        out["id"] = item.obj["id"]
    if isinstance(item.obj, dict) and isinstance(item.obj.get("method"), str):
        out["method"] = item.obj["method"]
    out["findings"] = [f.to_dict() for f in item.result.findings]
    out["uninspected"] = [{"path": p, "reason": item.result.reasons.get(p, "")} for p in item.result.uninspected]
    return out


def write_text(items: list[Item], out: Any) -> None:
    total = 0
    for item in items:
        label = f"message {item.index + 1}" if item.obj is not None else "text"
        for f in sorted(item.result.findings, key=lambda f: -int(f.severity)):
            total += 1
            span = f"[{f.span[0]}:{f.span[1]}]" if f.span else ""
            out.write(f"{label}: {str(f.severity).upper():8} {f.category:17} {f.rule}  {f.path}{span}  {f.message}\n")
        for p in item.result.uninspected:
            out.write(f"{label}: UNINSPECTED {p} ({item.result.reasons.get(p, '')})\n")
    if total == 0 and not any(i.result.uninspected for i in items):
        out.write("no findings\n")
    else:
        out.write(f"{total} finding{'s' if total != 1 else ''}\n")


def _region(item: Item, f: Finding) -> dict[str, int]:
    if item.text is not None and f.span is not None:
        start, end = f.span
        before = item.text[:start]
        line = before.count("\n") + 1
        col = start - (before.rfind("\n") + 1) + 1
        region = {"startLine": line, "startColumn": col}
        if "\n" not in item.text[start:end]:
            region["endColumn"] = col + (end - start)
        return region
    return {"startLine": item.line}


def _artifact_uri(source: str) -> str:
    """Where the scanned input lives, as SARIF wants it: a relative path with forward
    slashes (what code scanning resolves against the repository), or a ``file:`` URI for
    an absolute path; ``text``/``stdin`` stay as they are."""
    if source in ("text", "stdin"):
        return source
    path = Path(source)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return path.resolve().as_uri()
    return urllib.parse.quote(path.as_posix())


def _full_description(f: Any) -> str:
    title = f.message.split(" (")[0] or f.rule
    text = f"{title}: a {f.category.replace('_', ' ')} finding of mcpwall's {f.detector or 'detection'} detector."
    return f"{text} {f.remediation}" if f.remediation else text


def sarif(items: list[Item], source: str, scanner: Scanner) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    uri = _artifact_uri(source)
    for item in items:
        for f in item.result.findings:
            if f.rule not in rules:
                rules[f.rule] = {
                    "id": f.rule,
                    "name": f.rule.replace(".", "_"),
                    "shortDescription": {"text": f.message.split(" (")[0] or f.rule},
                    # GitHub code scanning requires a full description for every rule.
                    "fullDescription": {"text": _full_description(f)},
                    "help": {"text": f.remediation or f.message or f.rule},
                    "properties": {"tags": ["security", f.category],
                                   "security-severity": _SECURITY_SEVERITY[f.severity]},
                }
            results.append({
                "ruleId": f.rule,
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f"{f.message or f.rule} at {f.path}"},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": uri}, "region": _region(item, f)},
                    "logicalLocations": [{"fullyQualifiedName": f.path, "kind": "member"}],
                }],
                "properties": {"category": f.category, "severity": str(f.severity), "path": f.path,
                               "span": list(f.span) if f.span else None, "message_index": item.index},
            })
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mcpwall",
                "version": __version__,
                "rules": list(rules.values()),
            }},
            "results": results,
        }],
    }

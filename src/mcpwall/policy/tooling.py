"""Policy tooling: check a policy file, explain a decision, replay recorded traffic under a policy.

- :func:`check` reports syntax errors and unknown keys (with their key paths), rules that
  can never match, and rules shadowed by an earlier rule that always decides first.
- :func:`explain` walks the rules of every layer for one message and says why each did or
  did not match, and which decision wins.
- :func:`replay` feeds the frames recorded in an audit database (column ``frame``, secrets
  masked) through a policy and lists the messages whose decision would change.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import read_file, validate
from ..errors import ConfigError, ProtocolError
from ..frame import Direction, Frame, Kind, classify, encode, id_key
from ..session import Identity, Session
from ..verdict import Block, Defer, Finding, Modify, Severity, Verdict
from .engine import CompiledRule, Facts, Layer, Policy, Ruling, compile_policy, validate_policy
from .rules import PolicySettings

KNOWN_METHODS = (
    "initialize", "ping", "tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list",
    "resources/read", "resources/templates/list", "resources/subscribe", "resources/unsubscribe",
    "completion/complete", "logging/setLevel", "sampling/createMessage", "elicitation/create", "roots/list",
    "tasks/get", "tasks/list", "tasks/result", "tasks/cancel", "server/discover",
    "notifications/initialized", "notifications/cancelled", "notifications/progress",
    "notifications/message", "notifications/tools/list_changed", "notifications/prompts/list_changed",
    "notifications/resources/list_changed", "notifications/resources/updated",
    "notifications/roots/list_changed", "notifications/elicitation/complete",
)


# --- loading ----------------------------------------------------------------------------


def load_policy_file(path: Path) -> tuple[PolicySettings, Policy]:
    """A whole mcpwall config (its ``policy`` section is used) or a bare policy file."""
    data = read_file(path)
    settings = validate(data, str(path)).policy if "policy" in data else validate_policy(data, str(path))
    return settings, compile_policy(settings, path.resolve())


# --- check ------------------------------------------------------------------------------


@dataclass(slots=True)
class CheckReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rules: int = 0
    layers: int = 0


def _never_matches(rule: CompiledRule) -> str:
    m = rule.rule.match
    tool_needed = rule.tool is not None or m.labels is not None or m.after is not None or m.from_ is not None
    if tool_needed:
        if rule.method is not None and not rule.method("tools/call"):
            return "it names a tool (or data-flow labels), which only tools/call has, but its method cannot be tools/call"
        if rule.directions is not None and "c2s" not in rule.directions:
            return "it names a tool, but tools/call only travels client to server"
        if "request" not in rule.kinds and "response" not in rule.kinds:
            return "it names a tool, but applies to notifications only"
    if m.findings is not None and m.findings.category is not None and any(
            c == "" for c in m.findings.category):
        return "it matches an empty finding category"
    return ""


def _covers(a: CompiledRule, b: CompiledRule) -> bool:
    """Every message that b's static conditions accept, a's accept too."""
    for ga, gb in ((a.method, b.method), (a.tool, b.tool), (a.upstream, b.upstream), (a.subject, b.subject),
                   (a.roles, b.roles)):
        if ga is None:
            continue
        if gb is None or not ga.covers(gb):
            return False
    if a.directions is not None and (b.directions is None or not b.directions <= a.directions):
        return False
    return b.kinds <= a.kinds


def check_layer(layer: Layer, report: CheckReport, where: str) -> None:
    for i, rule in enumerate(layer.rules):
        name = rule.rule.name
        why = _never_matches(rule)
        if why:
            report.warnings.append(f"{where}: rule {name!r} can never match: {why}")
        if rule.method is not None:
            known = [m for m in KNOWN_METHODS if rule.method(m)]
            if not known and not any(c in p for p in rule.method.patterns for c in "*?["):
                report.warnings.append(f"{where}: rule {name!r}: method {rule.method.patterns} is not an MCP "
                                       "method this version knows (a typo?)")
        for earlier in layer.rules[:i]:
            if not earlier.dynamic and _covers(earlier, rule):
                same = earlier.rule.action is rule.rule.action
                report.warnings.append(
                    f"{where}: rule {name!r} is shadowed by the earlier rule {earlier.rule.name!r}, which matches "
                    f"everything it matches" + (" with the same action (redundant)" if same
                                                else f" and decides {earlier.rule.action} first"))
                break
        if rule.rule.action.value == "require_approval" and rule.kinds == frozenset({"response"}):
            report.warnings.append(f"{where}: rule {name!r} asks for approval of responses, which cannot be "
                                   "approved; it acts as deny")


def check(path: Path) -> CheckReport:
    report = CheckReport()
    try:
        _, policy = load_policy_file(path)
    except ConfigError as e:
        report.errors.append(str(e))
        return report
    report.layers = len(policy.layers)
    for layer in policy.layers:
        report.rules += len(layer.rules)
        check_layer(layer, report, layer.source or str(path))
    return report


# --- explain ----------------------------------------------------------------------------


def facts_from_message(obj: dict[str, Any], **extra: Any) -> Facts:
    method = obj.get("method") if isinstance(obj.get("method"), str) else None
    raw = obj.get("params")
    params: dict[str, Any] = raw if isinstance(raw, dict) else {}
    tool = params.get("name") if method == "tools/call" and isinstance(params.get("name"), str) else None
    arguments = params.get("arguments") if method == "tools/call" else params
    kind = "notification" if "id" not in obj else "request"
    return Facts(method=method, tool=tool, kind=kind, arguments=arguments, **extra)


def explain(policy: Policy, facts: Facts) -> tuple[Ruling, list[str]]:
    lines: list[str] = []
    for layer in policy.layers:
        if len(policy.layers) > 1:
            lines.append(f"layer {layer.source or '(inline)'}:")
        ruling, steps = layer.explain(facts)
        for name, why in steps:
            lines.append(f"  {name}: {why}")
        lines.append(f"  => {ruling.action} ({ruling.name})")
    final = policy.decide(facts)
    if len(policy.layers) > 1:
        lines.append(f"composed (strictest layer wins) => {final.action} (rule {final.name!r}"
                     f"{' in ' + final.layer if final.layer else ''})")
    return final, lines


# --- replay -----------------------------------------------------------------------------


@dataclass(slots=True)
class Change:
    seq: int
    ts: float
    session: str
    direction: str
    method: str | None
    tool: str | None
    before: str
    after: str
    rule: str
    reason: str


@dataclass(slots=True)
class ReplayReport:
    frames: int = 0
    skipped: int = 0
    changes: list[Change] = field(default_factory=list)


def _outcome_of_row(action: str) -> str:
    return {"pass": "allowed", "modify": "modified", "block": "blocked", "respond": "blocked",
            "defer": "approval"}.get(action, action)


def _outcome(verdict: Verdict) -> str:
    if isinstance(verdict, Defer):
        return "approval"
    if isinstance(verdict, Block):
        if any(f.category == "policy" and "requires approval" in f.message for f in verdict.findings):
            return "approval"
        return "blocked"
    if isinstance(verdict, Modify):
        return "modified"
    return "allowed"


def _rows(db: Path) -> Iterator[sqlite3.Row]:
    if not db.exists():
        raise ConfigError(f"audit database {db} does not exist")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        yield from con.execute("SELECT seq, ts, session, upstream, identity, direction, kind, method, tool, action, "
                               "inspector, rule, findings, frame FROM audit ORDER BY seq")
    except sqlite3.Error as e:
        raise ConfigError(f"cannot read audit database {db}: {e}") from None
    finally:
        con.close()


def _findings(text: str | None) -> list[Finding]:
    out = []
    for d in json.loads(text) if text else []:
        if d.get("category") == "policy" or d.get("detector") == "policy":
            continue  # the old policy's own findings are what is being replaced
        span = d.get("span")
        out.append(Finding(d.get("category", ""), d.get("rule", ""), Severity.parse(d.get("severity", "medium")),
                           d.get("message", ""), d.get("path", ""), tuple(span) if span else None,
                           d.get("detector", "")))
    return out


async def replay(settings: PolicySettings, source: Path | None, db: Path) -> ReplayReport:
    """Decide every recorded message again under ``settings`` and list what changes."""
    from ..inspectors.policy import PolicyInspector

    inspector = PolicyInspector(settings, source=source, enforce=True, replay=True)
    report = ReplayReport()
    sessions: dict[str, Session] = {}
    requests: dict[tuple[str, str, Any], Frame] = {}
    for row in _rows(db):
        action = row["action"]
        if action in ("invalid", "ask", "consume", "drop") or row["frame"] is None:
            continue
        try:
            obj = json.loads(row["frame"])
            direction = Direction(row["direction"])
            frame = classify(obj, encode(obj), direction)
        except (ValueError, ProtocolError):
            report.skipped += 1  # truncated or undecodable record
            continue
        sid = row["session"] or ""
        session = sessions.get(sid)
        if session is None:
            session = sessions[sid] = Session(upstream=row["upstream"] or "", id=sid,
                                              identity=Identity(subject=row["identity"] or "local"))
        if frame.kind is Kind.REQUEST and frame.id is not None:
            requests[(sid, direction.value, id_key(frame.id))] = frame
        elif frame.is_reply and frame.id is not None:
            req = requests.pop((sid, direction.reverse.value, id_key(frame.id)), None)
            if req is None:
                report.skipped += 1
                continue
            frame.request, frame.method = req, req.method
        report.frames += 1
        before = _outcome_of_row(action)
        if frame.kind is Kind.ERROR or not inspector.wants(frame):
            after, verdict = "allowed", None
        else:
            verdict = await inspector.review(frame, session, _findings(row["findings"]))
            after = _outcome(verdict)
        # A decision some other inspector made (pinning, detection) stands unless policy blocks.
        if row["inspector"] not in ("", "policy", None) and before != "allowed" and after in ("allowed", "modified"):
            after = before
        if action in ("pass", "modify"):
            session.observe(frame)
        if before != after:
            reason = getattr(verdict, "reason", "") if verdict is not None else ""
            report.changes.append(Change(row["seq"], row["ts"], sid, row["direction"], frame.method, frame.tool,
                                         before, after, verdict.rule if verdict is not None else "", reason))
    await inspector.close()
    return report

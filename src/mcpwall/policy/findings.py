"""Built-in actions on detection findings: what enforce mode does with what detectors found.

Detectors only report (DESIGN §3); this table is how the policy inspector turns their
findings into verdicts when no policy rule about findings decided. Each finding gets the
action of the first table entry that matches its category, rule id, severity and where it
was found, and ``record`` when none does:

- ``record``: the finding is kept in the audit log, the message goes on unchanged;
- ``redact``: the matched text is replaced in place by ``[REDACTED:<rule>]`` (the
  message keeps its shape and id; a base64 blob is decoded, redacted and re-encoded);
- ``block``: a request is refused with a JSON-RPC error, a response is replaced by one, a
  notification is dropped. Inside a catalogue listing (``tools/list``, ``prompts/list``,
  ``resources/list``) only the item that carries the finding is removed — the rest of the
  list still arrives — and later calls to it (``tools/call``, ``prompts/get``,
  ``resources/read``) are blocked for the session; poisoned ``instructions`` from
  ``initialize`` are withheld.

``where`` is ``request`` (anything the client sends), ``response`` (results, errors,
notifications and requests a server sends) or ``catalogue`` (listing results and the
``initialize`` result: text the model reads as instructions).

Monitor mode computes the same verdicts; the relay records them and forwards the original.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from .. import jsonpath
from ..detect.fields import TOOL_DESCRIPTION, role_of
from ..frame import Direction, Frame, Kind
from ..redaction import splice
from ..session import Session
from ..verdict import Block, Finding, Modify, Severity, Verdict
from .rules import Glob

Where = Literal["request", "response", "catalogue"]
FindingVerb = Literal["record", "redact", "block"]

# Listing method -> (item kind, result field, identifying key of an item)
LISTINGS: dict[str, tuple[str, str, str]] = {
    "tools/list": ("tool", "tools", "name"),
    "prompts/list": ("prompt", "prompts", "name"),
    "resources/list": ("resource", "resources", "uri"),
    "resources/templates/list": ("resource template", "resourceTemplates", "uriTemplate"),
}
# Request method -> (item kind, params key naming the item)
CALLS: dict[str, tuple[str, str]] = {
    "tools/call": ("tool", "name"),
    "prompts/get": ("prompt", "name"),
    "resources/read": ("resource", "uri"),
}
STATE_KEY = "detection.withheld"
_ITEM_PATH = re.compile(r"^\$\.result\.([A-Za-z]+)\[(\d+)\]")
_MAX_LISTED = 3


class FindingAction(BaseModel):
    """One entry of ``detection.actions``: findings it matches, and what to do with them."""

    model_config = ConfigDict(extra="forbid")

    category: list[str] | None = None
    rule: list[str] | None = None
    severity: Severity | None = None  # at least this
    where: list[Where] | None = None
    action: FindingVerb

    @field_validator("category", "rule", mode="before")
    @classmethod
    def _globs(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("where", mode="before")
    @classmethod
    def _where(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, v: Any) -> Severity | None:
        return None if v is None else Severity.parse(v)


# Written out in DEFAULT_CONFIG (config.py) too; tests check that both say the same.
DEFAULT_ACTIONS: list[dict[str, Any]] = [
    {"category": "secrets", "where": ["response", "catalogue"], "severity": "medium", "action": "redact"},
    {"category": "pii", "where": ["response", "catalogue"], "severity": "high", "action": "redact"},
    {"category": ["tool_poisoning", "prompt_injection"], "where": "catalogue", "severity": "medium",
     "action": "block"},
    {"category": "hidden_unicode", "where": "catalogue", "severity": "high", "action": "block"},
    {"category": ["prompt_injection", "tool_poisoning"], "where": "response", "severity": "high",
     "action": "block"},
    {"category": ["prompt_injection", "command_injection", "path_traversal"], "where": "request",
     "severity": "medium", "action": "block"},
    {"category": "exfiltration", "where": ["request", "response"], "severity": "high", "action": "block"},
]


def default_actions() -> list[FindingAction]:
    return [FindingAction.model_validate(a) for a in DEFAULT_ACTIONS]


def where_of(frame: Frame) -> Where:
    if frame.direction is Direction.C2S:
        return "request"
    if frame.kind is Kind.RESPONSE and role_of(frame.direction, frame.method, is_reply=True) == TOOL_DESCRIPTION:
        return "catalogue"
    return "response"


def label(f: Finding) -> str:
    """What the redaction says was removed: the rule id without its category."""
    return f"[REDACTED:{f.rule.split('.', 1)[-1] if '.' in f.rule else f.rule}]"


def describe(findings: Sequence[Finding]) -> str:
    parts = [f"{f.category.replace('_', ' ')} ({f.rule}, {f.severity}) at {f.path or '$'}"
             for f in findings[:_MAX_LISTED]]
    more = len(findings) - _MAX_LISTED
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _summary(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    return [{"category": f.category, "rule": f.rule, "severity": str(f.severity), "path": f.path}
            for f in findings[:16]]


class _Compiled:
    __slots__ = ("action", "category", "rule", "severity", "where")

    def __init__(self, a: FindingAction) -> None:
        self.category = Glob(a.category) if a.category else None
        self.rule = Glob(a.rule) if a.rule else None
        self.severity = a.severity
        self.where = frozenset(a.where) if a.where else None
        self.action: FindingVerb = a.action

    def matches(self, f: Finding, where: str) -> bool:
        return ((self.where is None or where in self.where)
                and (self.severity is None or f.severity >= self.severity)
                and (self.category is None or self.category(f.category))
                and (self.rule is None or self.rule(f.rule)))


class FindingPolicy:
    """The compiled ``detection.actions`` table and what it does to a message."""

    def __init__(self, actions: Sequence[FindingAction] | None = None) -> None:
        self.entries = [_Compiled(a) for a in (default_actions() if actions is None else actions)]

    def action_for(self, f: Finding, where: str) -> FindingVerb:
        for e in self.entries:
            if e.matches(f, where):
                return e.action
        return "record"

    # --- the decision ------------------------------------------------------------------

    def decide(self, frame: Frame, session: Session, findings: Sequence[Finding], base: Verdict) -> Verdict:
        """Combine the user's ruling ``base`` (a Pass or Modify) with the table.

        A block wins over a modification; redactions are applied on top of what the user's
        ruling already changed.
        """
        withheld: dict[tuple[str, str], str] | None = session.state.get(STATE_KEY)
        if frame.kind is Kind.REQUEST and withheld and frame.method in CALLS:
            refused = self._withheld_call(frame, withheld)
            if refused is not None:
                return refused
        listing = LISTINGS.get(frame.method or "") if frame.kind is Kind.RESPONSE else None
        if not findings and (listing is None or not withheld):
            return base
        where = where_of(frame)
        blocks: list[Finding] = []
        redacts: list[Finding] = []
        for f in findings:
            verb = self.action_for(f, where)
            if verb == "block":
                blocks.append(f)
            elif verb == "redact":
                redacts.append(f)
        obj: Any = base.obj if isinstance(base, Modify) else frame.obj
        notes: list[Finding] = []
        changed = False
        if where == "catalogue" and listing is not None:
            obj, blocks, dropped = self._drop_items(obj, session, listing, blocks)
            if dropped:
                changed = True
                notes.append(Finding("policy", "detection.withhold", Severity.MEDIUM,
                                     f"withheld {len(dropped)} {listing[0]}(s) carrying poisoning from the listing: "
                                     + ", ".join(repr(n) for n in dropped), path=f"$.result.{listing[1]}",
                                     detector="policy", extra={"withheld": dropped}))
        elif where == "catalogue" and frame.method == "initialize" and blocks:
            inside = [f for f in blocks if f.path.startswith("$.result.instructions")]
            if inside and isinstance(obj.get("result"), dict):
                blocks = [f for f in blocks if f not in inside]
                obj = {**obj, "result": {k: v for k, v in obj["result"].items() if k != "instructions"}}
                changed = True
                notes.append(Finding("policy", "detection.withhold", Severity.MEDIUM,
                                     "withheld the server instructions: " + describe(inside),
                                     path="$.result.instructions", detector="policy"))
        if blocks:
            what = frame.method or "message"
            if frame.kind is Kind.REQUEST:
                reason = f"mcpwall blocked this {what} request: {describe(blocks)}"
            elif frame.kind is Kind.NOTIFICATION:
                reason = f"mcpwall dropped a {what} notification: {describe(blocks)}"
            else:
                reason = f"mcpwall blocked the server's answer to {what}: {describe(blocks)}"
            note = Finding("policy", "detection.block", Severity.HIGH, reason, path=blocks[0].path, detector="policy")
            return Block([*base.findings, *notes, note], rule="detection.block", reason=reason,
                         data={"findings": _summary(blocks)})
        if redacts:
            if isinstance(base, Modify) and listing is None:
                redacts = _stale_spans(redacts, frame.obj, obj)
            obj = copy.deepcopy(obj)  # the original stays as it came, for the audit log
            done = redact(obj, _remap(redacts, obj, listing))
            if done:
                changed = True
                notes.append(Finding("policy", "detection.redact", Severity.LOW,
                                     f"redacted {len(done)} field(s): {describe(redacts)}", path=done[0],
                                     detector="policy", extra={"paths": done}))
        if not changed:
            return base
        reason = "; ".join(n.message for n in notes)
        rule = notes[-1].rule
        return Modify([*base.findings, *notes], obj=obj, rule=rule, reason=reason)

    def _withheld_call(self, frame: Frame, withheld: dict[tuple[str, str], str]) -> Block | None:
        kind, key = CALLS[frame.method or ""]
        name = frame.params.get(key)
        if not isinstance(name, str) or (kind, name) not in withheld:
            return None
        why = withheld[(kind, name)]
        reason = (f"mcpwall withheld {kind} {name!r} because its listing carried {why}; "
                  f"calls to it are blocked for this session")
        finding = Finding("policy", "detection.withheld", Severity.HIGH, reason, path=f"$.params.{key}",
                          detector="policy")
        return Block([finding], rule="detection.withheld", reason=reason)

    def _drop_items(self, obj: Any, session: Session, listing: tuple[str, str, str],
                    blocks: list[Finding]) -> tuple[Any, list[Finding], list[str]]:
        """Remove the items that carry block findings; remember them for later calls."""
        kind, field_name, key = listing
        result = obj.get("result") if isinstance(obj, dict) else None
        items = result.get(field_name) if isinstance(result, dict) else None
        if not isinstance(items, list):
            return obj, blocks, []
        bad: dict[str, list[Finding]] = {}
        rest: list[Finding] = []
        for f in blocks:
            name = _item_name(f, field_name)
            if name is None:
                rest.append(f)
            else:
                bad.setdefault(name, []).append(f)
        withheld: dict[tuple[str, str], str] = session.state.setdefault(STATE_KEY, {})
        kept: list[Any] = []
        dropped: list[str] = []
        for item in items:
            name = item.get(key) if isinstance(item, dict) else None
            if isinstance(name, str) and name in bad:
                withheld[(kind, name)] = describe(bad[name])
                dropped.append(name)
                continue
            if isinstance(name, str):
                withheld.pop((kind, name), None)  # listed clean again: released
            kept.append(item)
        if not dropped:
            return obj, rest, []
        return {**obj, "result": {**result, field_name: kept}}, rest, dropped  # type: ignore[dict-item]


def _item_name(f: Finding, field_name: str) -> str | None:
    item = f.extra.get("item")
    if isinstance(item, str):
        m = _ITEM_PATH.match(f.path)
        if m is not None and m.group(1) == field_name:
            return item
    return None


def _remap(findings: list[Finding], obj: Any, listing: tuple[str, str, str] | None) -> list[Finding]:
    """Findings inside listing items point at the items' original positions; an earlier
    inspector (pinning) may have removed items, so find each item again by its name."""
    if listing is None:
        return findings
    _, field_name, key = listing
    result = obj.get("result") if isinstance(obj, dict) else None
    items = result.get(field_name) if isinstance(result, dict) else None
    if not isinstance(items, list):
        return findings
    index = {it.get(key): i for i, it in enumerate(items) if isinstance(it, dict)}
    out = []
    for f in findings:
        name = _item_name(f, field_name)
        if name is None:
            out.append(f)
            continue
        at = index.get(name)
        if at is None:
            continue  # the item is gone already
        m = _ITEM_PATH.match(f.path)
        assert m is not None
        path = f"$.result.{field_name}[{at}]" + f.path[m.end():]
        out.append(Finding(f.category, f.rule, f.severity, f.message, path, f.span, f.detector,
                           f.remediation, f.extra))
    return out


def _stale_spans(findings: list[Finding], original: Any, changed: Any) -> list[Finding]:
    """Findings whose field the user's ruling already rewrote (a redact rule, a truncation)
    hide that field whole: their spans point into the original text, not the new one."""
    out = []
    for f in findings:
        if f.span is not None and f.path:
            try:
                before, after = jsonpath.get(original, f.path), jsonpath.get(changed, f.path)
            except (KeyError, IndexError, TypeError, ValueError):
                before = after = None
            if before != after:
                f = Finding(f.category, f.rule, f.severity, f.message, f.path, None, f.detector, f.remediation,
                            f.extra)
        out.append(f)
    return out


def redact(obj: Any, findings: Sequence[Finding]) -> list[str]:
    """Replace what ``findings`` located in ``obj`` (changed in place); returns the paths done.

    A finding without a span, or found only in a decoded view of the text, hides the whole
    field; a finding in a base64 ``blob`` is redacted in the decoded text, re-encoded.
    """
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        if f.path:
            by_path.setdefault(f.path, []).append(f)
    done: list[str] = []
    for path, group in by_path.items():
        try:
            wire = jsonpath.get(obj, path)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if not isinstance(wire, str):
            continue
        blob = any(str(f.extra.get("decoded", "")).startswith("base64") for f in group)
        text = wire
        if blob:
            try:
                text = base64.b64decode(wire, validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                text = None  # type: ignore[assignment]
            if any(f.extra.get("decoded") == "base64-binary" for f in group):
                text = None  # type: ignore[assignment]  # read with bytes blanked out: no spans to splice
        if text is None or any(f.span is None or "layer" in f.extra for f in group):
            new = " ".join(dict.fromkeys(label(f) for f in group))
        else:
            new = splice(text, [(f.span[0], f.span[1], label(f)) for f in group if f.span is not None])
        if blob:
            new = base64.b64encode(new.encode("utf-8")).decode("ascii")
        if jsonpath.replace_string(obj, path, new):
            done.append(path)
    return done

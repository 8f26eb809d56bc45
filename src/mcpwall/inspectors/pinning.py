"""Pinning: trust on first use of what each upstream offers, and quarantine of what changed.

The first listing of an upstream's tools (prompts, resource templates, instructions) is
pinned in the state database. Every later listing — after ``notifications/*/list_changed``
too — is diffed against the pins: added, changed, renamed, removed. In enforce mode an
item that differs from its pin is quarantined for the session: hidden from list results,
and calls to it are blocked with a reason that names ``mcpwall pins approve``. Approving
in another process takes effect at the next call or listing without a restart. In
monitor mode the drift is recorded as findings and nothing is hidden.

A pin store that cannot be read or written blocks in enforce mode: silently trusting
whatever the server says would defeat the point.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..frame import Direction, Frame, Kind
from ..pipeline import PASS, Inspector
from ..policy import pins
from ..session import Session
from ..state import PinEntry, StateError, StateStore, open_store
from ..verdict import Block, Finding, Modify, Pass, Severity, Verdict

log = logging.getLogger(__name__)

_CALLS = {"tools/call": "tool", "prompts/get": "prompt"}
_LIST_CHANGED = frozenset({
    "notifications/tools/list_changed", "notifications/prompts/list_changed",
    "notifications/resources/list_changed",
})
_SEVERITY = {"added": Severity.MEDIUM, "changed": Severity.HIGH, "renamed": Severity.HIGH, "removed": Severity.LOW}


@dataclass(slots=True)
class PinState:
    """Per session: which upstream key, what is quarantined, pages of a listing in progress."""

    key: str = ""
    quarantined: dict[tuple[str, str], str] = field(default_factory=dict)  # -> observed hash
    pages: dict[str, list[PinEntry]] = field(default_factory=dict)


class PinningInspector(Inspector):
    name = "pinning"
    static_routing = True
    methods = frozenset({"initialize", *pins.LISTS, *_CALLS, *_LIST_CHANGED})

    def __init__(self, db: Path | None = None, *, enforce: bool, store: StateStore | None = None) -> None:
        self.db = db
        self.enforce = enforce
        self._store = store

    def store(self) -> StateStore:
        if self._store is None:
            if self.db is None:
                raise StateError("no state database configured")
            self._store = open_store(self.db)
        return self._store

    def wants(self, frame: Frame) -> bool:
        m = frame.method
        if m in _CALLS:
            return frame.kind is Kind.REQUEST and frame.direction is Direction.C2S
        if m in _LIST_CHANGED:
            return frame.direction is Direction.S2C
        return frame.kind is Kind.RESPONSE and frame.direction is Direction.S2C and m in self.methods

    async def inspect(self, frame: Frame, session: Session) -> Verdict:
        state = session.state.get(self.name)
        if state is None:
            state = session.state[self.name] = PinState()
        if frame.kind is Kind.REQUEST and not state.quarantined:
            return PASS  # a call, and nothing is quarantined: the common case, for free
        try:
            if frame.kind is Kind.REQUEST:
                return self._call(frame, session, state)
            if frame.kind is Kind.NOTIFICATION:
                return Pass([Finding("integrity", "pin.list_changed", Severity.INFO,
                                     f"server sent {frame.method}; the next listing is checked against the pins",
                                     detector=self.name)])
            if frame.method == "initialize":
                return self._initialize(frame, session, state)
            return self._listing(frame, session, state)
        except StateError as e:
            finding = Finding("integrity", "pin.store_unavailable", Severity.HIGH, str(e), detector=self.name)
            if self.enforce:
                return Block([finding], rule="pin.store_unavailable",
                             reason=f"mcpwall cannot check this server's pins ({e}); blocked in enforce mode")
            return Pass([finding])

    # --- keys ----------------------------------------------------------------------------

    def _key(self, session: Session, state: PinState, server_info: dict[str, Any] | None = None) -> str:
        if server_info is not None or not state.key:
            state.key = pins.upstream_key(session.upstream, server_info or session.server_info)
        return state.key

    def _label(self, session: Session, server_info: dict[str, Any]) -> str:
        name = server_info.get("name") or "?"
        return f"{name} via {session.upstream}" if session.upstream else str(name)

    # --- calls ---------------------------------------------------------------------------

    def _call(self, frame: Frame, session: Session, state: PinState) -> Verdict:
        if not state.quarantined:
            return Pass()
        kind = _CALLS[frame.method or ""]
        name = frame.params.get("name")
        if not isinstance(name, str) or (kind, name) not in state.quarantined:
            return Pass()
        observed = state.quarantined[(kind, name)]
        if self.store().pin_hash(state.key, kind, name) == observed:
            del state.quarantined[(kind, name)]  # approved meanwhile, from another process
            return Pass([Finding("integrity", "pin.released", Severity.INFO,
                                 f"{kind} {name!r} was approved; quarantine lifted", detector=self.name)])
        reason = (f"mcpwall quarantined {kind} {name!r}: it changed since it was pinned (or is new) on this "
                  f"server. Review with `mcpwall pins diff {state.key}`, then release it with "
                  f"`mcpwall pins approve {state.key}`")
        finding = Finding("integrity", "pin.quarantined", Severity.HIGH, reason,
                          path="$.params.name", detector=self.name)
        if not self.enforce:
            return Pass([finding], rule="pin.quarantined")
        return Block([finding], rule="pin.quarantined", reason=reason)

    # --- listings ------------------------------------------------------------------------

    def _initialize(self, frame: Frame, session: Session, state: PinState) -> Verdict:
        result = frame.result if isinstance(frame.result, dict) else {}
        raw_info = result.get("serverInfo")
        info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
        key = self._key(session, state, info)
        text = result.get("instructions")
        e = pins.instructions_entry(text if isinstance(text, str) else None)
        if e is None:
            return Pass()
        store = self.store()
        store.record_observed(key, ["instructions"], [e], complete=True)
        if store.first_use(key, self._label(session, info), info, "instructions", [e]):
            return Pass()
        pinned = store.pins(key, "instructions")
        drift = pins.diff(pinned, [e], complete=False)
        if not drift:
            return Pass()
        msg = (f"server instructions changed since they were pinned; review with `mcpwall pins diff {key}` "
               f"and approve with `mcpwall pins approve {key}`")
        finding = Finding("integrity", "pin.changed", Severity.HIGH, msg, path="$.result.instructions",
                          detector=self.name, extra={"upstream": key})
        if not self.enforce:
            return Pass([finding], rule="pin.changed")
        new = dict(frame.obj)
        new["result"] = {k: v for k, v in result.items() if k != "instructions"}
        return Modify([finding], obj=new, rule="pin.changed", reason="changed server instructions withheld")

    def _listing(self, frame: Frame, session: Session, state: PinState) -> Verdict:
        kind, field_name = pins.LISTS[frame.method or ""]
        result = frame.result if isinstance(frame.result, dict) else None
        items = result.get(field_name) if result is not None else None
        if result is None or not isinstance(items, list):
            return Pass()
        entries: list[PinEntry] = []
        names: list[str | None] = []
        for item in items:
            e = pins.entry(kind, item) if isinstance(item, dict) else None
            names.append(e.name if e else None)
            if e is not None:
                entries.append(e)
        cursor = frame.request.params.get("cursor") if frame.request is not None else None
        more = bool(result.get("nextCursor"))
        whole = [*state.pages.get(kind, []), *entries] if cursor else list(entries)
        if more:
            state.pages[kind] = whole
        else:
            state.pages.pop(kind, None)
        complete = not more
        key = self._key(session, state)
        store = self.store()
        if complete:
            store.record_observed(key, [kind], whole, complete=True)
        label = self._label(session, session.server_info)
        if complete and store.first_use(key, label, session.server_info, kind, whole):
            return Pass([Finding("integrity", "pin.first_use", Severity.INFO,
                                 f"pinned {len(whole)} {kind}(s) of {label} on first use (key {key})",
                                 detector=self.name, extra={"upstream": key})])
        kinds = store.pinned_kinds(key)
        if kinds is None or kind not in kinds:
            return Pass()  # first use still paging: pinned when the last page arrives
        drift = pins.diff(store.pins(key, kind), entries if not complete else whole, complete=complete)
        # What this page shows that differs from the pins is quarantined; what matches is released.
        bad = {e.name: e.hash for e in drift.unapproved}
        for e in entries:
            if e.name in bad:
                state.quarantined[(kind, e.name)] = e.hash
            else:
                state.quarantined.pop((kind, e.name), None)
        if not drift:
            return Pass()
        findings = self._findings(drift, key, field_name, names)
        if not self.enforce or not bad:
            return Pass(findings, rule="pin.drift")
        kept = [item for item, n in zip(items, names, strict=True) if n not in bad]
        new = dict(frame.obj)
        new["result"] = {**result, field_name: kept}
        return Modify(findings, obj=new, rule="pin.drift",
                      reason=f"{len(bad)} {kind}(s) quarantined until approved (`mcpwall pins approve {key}`)")

    def _findings(self, drift: pins.Drift, key: str, field_name: str, names: list[str | None]) -> list[Finding]:
        def path(name: str) -> str:
            try:
                return f"$.result.{field_name}[{names.index(name)}]"
            except ValueError:
                return f"$.result.{field_name}"

        hint = f"review with `mcpwall pins diff {key}`, approve with `mcpwall pins approve {key}`"
        out = []
        for e in drift.added:
            out.append(Finding("integrity", "pin.added", _SEVERITY["added"],
                               f"new {e.kind} {e.name!r} that was not pinned; {hint}", path=path(e.name),
                               detector=self.name, extra={"upstream": key, "name": e.name}))
        for old, new in drift.changed:
            what = ", ".join(line.split(":")[0].strip() for line in pins.describe_change(old, new))
            out.append(Finding("integrity", "pin.changed", _SEVERITY["changed"],
                               f"{new.kind} {new.name!r} changed since it was pinned ({what}); {hint}",
                               path=path(new.name), detector=self.name,
                               extra={"upstream": key, "name": new.name, "fields": what}))
        for old, new in drift.renamed:
            out.append(Finding("integrity", "pin.renamed", _SEVERITY["renamed"],
                               f"{old.kind} {old.name!r} now appears as {new.name!r}; {hint}", path=path(new.name),
                               detector=self.name, extra={"upstream": key, "name": new.name, "was": old.name}))
        for e in drift.removed:
            out.append(Finding("integrity", "pin.removed", _SEVERITY["removed"],
                               f"pinned {e.kind} {e.name!r} is no longer offered", path=f"$.result.{field_name}",
                               detector=self.name, extra={"upstream": key, "name": e.name}))
        return out

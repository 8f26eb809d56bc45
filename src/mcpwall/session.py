"""What mcpwall observes about one client connection.

The session is observation, not termination: mcpwall reads initialize, capabilities,
catalogues and the pending-request table off the frames it relays, and never answers in
the server's place to learn them.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .frame import Direction, Frame, IdKey, Kind, id_key

# Protocol versions this build knows, oldest first.
KNOWN_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")
# Only 2025-03-26 allowed JSON-RPC batches; earlier and later versions have none.
BATCH_VERSIONS = frozenset({"2025-03-26"})
STATELESS_VERSIONS = frozenset({"2026-07-28"})
# Methods whose frames tell the session something (see ``Session.observe``).
_OBSERVED = frozenset({"initialize", "tools/list"})


@dataclass(slots=True)
class Identity:
    """Who is calling. ``local`` for a stdio client; filled from credentials over HTTP."""

    subject: str = "local"
    roles: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Pending:
    frame: Frame
    started: float
    progress_token: Any = None
    # The requester sent notifications/cancelled: nothing more is owed for it, but the entry
    # stays so that an answer crossing the cancellation still finds its request.
    cancelled: bool = False


class _BoundedSet:
    """Remembers the most recent keys only, so a long session cannot grow it without end."""

    def __init__(self, limit: int = 10_000) -> None:
        self._items: OrderedDict[Any, None] = OrderedDict()
        self._limit = limit

    def add(self, key: Any) -> None:
        self._items[key] = None
        self._items.move_to_end(key)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def discard(self, key: Any) -> None:
        self._items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._items


@dataclass
class Session:
    """Observed state of one client connection to one upstream."""

    upstream: str = ""
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    identity: Identity = field(default_factory=Identity)
    protocol_version: str | None = None
    proposed_version: str | None = None
    client_info: dict[str, Any] = field(default_factory=dict)
    server_info: dict[str, Any] = field(default_factory=dict)
    client_capabilities: dict[str, Any] = field(default_factory=dict)
    server_capabilities: dict[str, Any] = field(default_factory=dict)
    instructions: str | None = None
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (direction of the request, id key) -> pending request
    pending: dict[tuple[Direction, IdKey], Pending] = field(default_factory=dict)
    blocked: _BoundedSet = field(default_factory=_BoundedSet)
    # Per-inspector state (data-flow labels, budgets ...), keyed by inspector name.
    state: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    @property
    def batches_allowed(self) -> bool:
        return self.protocol_version in BATCH_VERSIONS or (
            self.protocol_version is None and self.proposed_version in BATCH_VERSIONS
        )

    # --- pending table -----------------------------------------------------------------

    def is_pending(self, direction: Direction, msg_id: Any) -> bool:
        return (direction, id_key(msg_id)) in self.pending

    def open_request(self, frame: Frame) -> None:
        assert frame.kind is Kind.REQUEST and frame.id is not None
        meta = frame.params.get("_meta")
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        self.pending[(frame.direction, id_key(frame.id))] = Pending(frame, time.monotonic(), token)

    def close_request(self, direction: Direction, msg_id: Any) -> Pending | None:
        """Remove and return the request of ``direction`` with this id, if any."""
        return self.pending.pop((direction, id_key(msg_id)), None)

    def mark_blocked(self, frame: Frame) -> None:
        if frame.id is not None:
            self.blocked.add((frame.direction, id_key(frame.id)))

    def was_blocked(self, direction: Direction, msg_id: Any) -> bool:
        return (direction, id_key(msg_id)) in self.blocked

    def pending_from(self, direction: Direction) -> list[Pending]:
        return [p for (d, _), p in self.pending.items() if d is direction]

    # --- observation -------------------------------------------------------------------

    def observe(self, frame: Frame) -> None:
        """Learn what a frame tells about the session (called on frames that go out)."""
        if frame.method not in _OBSERVED and (self.protocol_version is not None or frame.kind is not Kind.REQUEST):
            return  # nothing to learn: the common case, decided without touching the message
        if frame.kind is Kind.REQUEST and frame.method == "initialize":
            p = frame.params
            v = p.get("protocolVersion")
            self.proposed_version = v if isinstance(v, str) else None
            self.client_info = _dict(p.get("clientInfo"))
            self.client_capabilities = _dict(p.get("capabilities"))
        elif frame.kind is Kind.RESPONSE and frame.method == "initialize":
            r = frame.result if isinstance(frame.result, dict) else {}
            v = r.get("protocolVersion")
            if isinstance(v, str):
                self.protocol_version = v
            self.server_info = _dict(r.get("serverInfo"))
            self.server_capabilities = _dict(r.get("capabilities"))
            ins = r.get("instructions")
            self.instructions = ins if isinstance(ins, str) else None
        elif frame.kind is Kind.RESPONSE and frame.method == "tools/list":
            r = frame.result if isinstance(frame.result, dict) else {}
            tools = r.get("tools")
            if isinstance(tools, list):
                cursor = frame.request.params.get("cursor") if frame.request else None
                if not cursor:
                    self.tools = {}
                for t in tools:
                    if isinstance(t, dict) and isinstance(t.get("name"), str):
                        self.tools[t["name"]] = t
        elif frame.kind is Kind.REQUEST and frame.direction is Direction.C2S:
            # Stateless era (2026-07-28): every request carries its version in _meta.
            meta = frame.params.get("_meta")
            if isinstance(meta, dict):
                v = meta.get("io.modelcontextprotocol/protocolVersion")
                if isinstance(v, str) and self.protocol_version is None:
                    self.protocol_version = v


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

"""One audit record: what the relay saw and decided for one frame."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..verdict import Finding


@dataclass(slots=True)
class AuditRecord:
    """Built on the hot path with references only; the writer process does the heavy work
    (hashing, masking, encoding) so relaying stays fast."""

    direction: str
    action: str  # pass | modify | block | respond | invalid | drop
    enforced: bool
    raw: bytes
    obj: Any = None  # decoded message, when it decoded
    kind: str = ""
    method: str | None = None
    msg_id: Any = None
    tool: str | None = None
    inspector: str = ""
    rule: str = ""
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    session: str = ""
    upstream: str = ""
    identity: str = ""
    ts: float = field(default_factory=time.time)


def plain_record(direction: str, action: str, enforced: bool, raw: bytes, obj: Any, kind: str, method: str | None,
                 msg_id: Any, tool: str | None, session: str, upstream: str, identity: str) -> AuditRecord:
    """A record without inspector, rule, reason or findings: what most frames get.

    Positional arguments, in the field order above: half the cost of keywords on the hot
    path (tests/audit/test_record.py keeps the two in step).
    """
    return AuditRecord(direction, action, enforced, raw, obj, kind, method, msg_id, tool, "", "", "", [], session,
                       upstream, identity)

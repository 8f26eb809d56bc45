"""One audit record: what the relay saw and decided for one frame."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..verdict import Finding


@dataclass(slots=True)
class AuditRecord:
    """Built on the hot path with references only; the writer thread does the heavy work
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

"""Verdicts that inspectors return, and the findings they attach.

An inspector looks at one frame and answers with exactly one verdict:

- ``Pass``: forward unchanged (the original bytes go on the wire);
- ``Modify``: forward this new JSON object instead (re-encoded);
- ``Block``: do not forward; the sender of a request gets a JSON-RPC error,
  a blocked response is replaced by an error, a notification is dropped;
- ``Respond``: do not forward; answer the sender of a request with this result.

Every verdict may carry findings: what a detector or check saw, with where it saw it.
Findings are facts; only policy turns them into actions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """How bad a finding is. Ordered, so policy can say ``severity >= high``."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, value: str | int | Severity) -> Severity:
        if isinstance(value, Severity):
            return value
        names = ", ".join(s.name.lower() for s in cls)
        if isinstance(value, int) and not isinstance(value, bool):
            if value in cls._value2member_map_:
                return cls(value)
        elif isinstance(value, str):
            member = cls.__members__.get(value.strip().upper())
            if member is not None:
                return member
        raise ValueError(f"unknown severity {value!r}; expected one of {names}")

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation about a frame.

    ``category`` is one of the threat classes (``prompt_injection``, ``tool_poisoning``,
    ``hidden_unicode``, ``secrets``, ``pii``, ``command_injection``, ``path_traversal``,
    ``exfiltration``) or a non-detection concern (``policy``, ``protocol``, ``integrity``,
    ``budget`` ...). ``path`` is the JSON path of the field (``$.params.arguments.cmd``);
    ``span`` is ``(start, end)`` character offsets in that field's text, when known.
    """

    category: str
    rule: str
    severity: Severity = Severity.MEDIUM
    message: str = ""
    path: str = ""
    span: tuple[int, int] | None = None
    detector: str = ""
    remediation: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "category": self.category,
            "rule": self.rule,
            "severity": str(self.severity),
            "path": self.path,
            "span": list(self.span) if self.span is not None else None,
        }
        if self.message:
            out["message"] = self.message
        if self.detector:
            out["detector"] = self.detector
        if self.remediation:
            out["remediation"] = self.remediation
        if self.extra:
            out["extra"] = self.extra
        return out


@dataclass(slots=True)
class Verdict:
    """Base of the four verdicts. ``inspector`` is filled in by the pipeline."""

    findings: list[Finding] = field(default_factory=list)
    inspector: str = ""
    rule: str = ""

    @property
    def action(self) -> str:
        return type(self).__name__.lower()


@dataclass(slots=True)
class Pass(Verdict):
    """Forward the frame as it is."""


@dataclass(slots=True)
class Modify(Verdict):
    """Forward ``obj`` (a whole JSON-RPC message) instead of the original."""

    obj: Any = None
    reason: str = ""


@dataclass(slots=True)
class Block(Verdict):
    """Stop the frame. ``reason`` is shown to the peer that is refused.

    ``code`` is the JSON-RPC error code sent back; ``data`` goes into ``error.data``.
    """

    reason: str = "blocked by mcpwall"
    code: int = -32001
    data: Any = None


# Sends a request of mcpwall's own to the client and returns the client's result.
Asker = Callable[[str, dict[str, Any], float], Awaitable[dict[str, Any]]]


@dataclass(slots=True)
class Defer(Block):
    """Block unless a human approves (``require_approval``).

    A relay that can talk to the client calls ``ask`` in a task of its own (so the client's
    answer can still be read) and, when it returns True, runs the frame through the
    pipeline again; anything that does not understand Defer treats it as the Block it is.
    """

    ask: Callable[[Asker], Awaitable[bool]] | None = None


@dataclass(slots=True)
class Respond(Verdict):
    """Answer the sender of a request with ``result`` instead of forwarding it."""

    result: Any = None


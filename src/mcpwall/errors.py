"""The exception tree and the JSON-RPC error codes mcpwall emits.

Errors at a boundary (config file, wire, child process, database) are converted once into
one of these, with a message a user can act on.
"""

from __future__ import annotations

# JSON-RPC 2.0 standard codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# Implementation-defined server errors (-32000 .. -32099) that mcpwall uses.
UPSTREAM_UNAVAILABLE = -32000
BLOCKED = -32001
MESSAGE_TOO_LARGE = -32002
APPROVAL_REQUIRED = -32003
RATE_LIMITED = -32004
UNAUTHORIZED = -32005
# 2026-07-28: HTTP header and body disagree (Mcp-Method / Mcp-Name / Mcp-Param-*).
HEADER_MISMATCH = -32020


class McpwallError(Exception):
    """Base of every error mcpwall raises on purpose."""


class ConfigError(McpwallError):
    """A configuration file, variable or flag is wrong. ``problems`` are (key path, reason)."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        lines = [head] + [f"  {path or '<root>'}: {reason}" for path, reason in self.problems]
        return "\n".join(lines)


class ProtocolError(McpwallError):
    """A message violates JSON-RPC or MCP framing. ``code`` is the JSON-RPC code to answer with."""

    def __init__(self, message: str, code: int = INVALID_REQUEST, msg_id: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.msg_id = msg_id


class FrameTooLarge(ProtocolError):
    def __init__(self, size: int, limit: int, msg_id: object = None) -> None:
        super().__init__(
            f"message of {size} bytes exceeds the limit of {limit} bytes (limits.max_message_bytes)",
            code=MESSAGE_TOO_LARGE,
            msg_id=msg_id,
        )
        self.size = size
        self.limit = limit


class UpstreamError(McpwallError):
    """The server behind mcpwall failed: could not start, died, or answered garbage."""


class AuditError(McpwallError):
    """The audit log could not be written or read."""


class IntegrityError(McpwallError):
    """Pin store or audit chain problem."""

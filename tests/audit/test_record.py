"""The positional fast constructor fills the same fields as keywords would."""

from __future__ import annotations

from mcpwall.audit.record import AuditRecord, plain_record


def test_plain_record_matches_the_keyword_constructor() -> None:
    fast = plain_record("c2s", "pass", False, b"{}", {"a": 1}, "request", "tools/call", 7, "echo", "sess", "up",
                        "alice")
    slow = AuditRecord(direction="c2s", action="pass", enforced=False, raw=b"{}", obj={"a": 1}, kind="request",
                       method="tools/call", msg_id=7, tool="echo", session="sess", upstream="up", identity="alice",
                       ts=fast.ts)
    assert fast == slow
    assert (fast.inspector, fast.rule, fast.reason, fast.findings) == ("", "", "", [])

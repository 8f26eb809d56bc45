"""What verdicts do on the wire (DESIGN §2), driven through an in-process Relay.

The peers here are collectors: they record exactly the bytes the relay delivers to each
side, which is what these tests assert on.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcpwall.audit.record import AuditRecord
from mcpwall.errors import BLOCKED, INTERNAL_ERROR, INVALID_REQUEST, UPSTREAM_UNAVAILABLE
from mcpwall.frame import Frame, Kind
from mcpwall.pipeline import Inspector, Pipeline
from mcpwall.relay import Outgoing, Relay
from mcpwall.session import Session
from mcpwall.verdict import Block, Finding, Modify, Pass, Respond, Verdict


class Collector:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, out: Outgoing) -> None:
        self.sent.append(out.data)

    def json(self) -> list[Any]:
        return [json.loads(b) for b in self.sent]


class MemoryAudit:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []
        self.committed: list[AuditRecord] = []
        self.healthy = True

    def record(self, rec: AuditRecord) -> None:
        self.records.append(rec)

    async def commit(self, rec: AuditRecord) -> None:
        self.records.append(rec)
        self.committed.append(rec)


class Rule(Inspector):
    """Returns a fixed verdict for one method (and direction/kind, if given)."""

    def __init__(self, method: str, verdict: Verdict | Exception, name: str = "rule",
                 kinds: frozenset[Kind] | None = None) -> None:
        self.methods = frozenset({method})
        self._verdict = verdict
        self.name = name  # type: ignore[misc]
        if kinds is not None:
            self.kinds = kinds

    async def inspect(self, frame: Frame, session: Session) -> Verdict:
        if isinstance(self._verdict, Exception):
            raise self._verdict
        return self._verdict


def make(*inspectors: Inspector, enforce: bool = True, version: str | None = None) -> tuple[Relay, Collector, Collector, MemoryAudit]:
    client, server, audit = Collector(), Collector(), MemoryAudit()
    session = Session(upstream="test")
    session.protocol_version = version
    relay = Relay(Pipeline(inspectors, enforce=enforce), session, enforce=enforce, audit=audit,
                  client=client, server=server)
    return relay, client, server, audit


def req(msg_id: Any, method: str = "tools/call", **params: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}).encode()


async def test_passed_frames_go_on_as_their_original_bytes() -> None:
    relay, client, server, _ = make()
    raw = b'{ "params" : {"name":"x", "arguments": {"u":"\\u00e9"}},"id":1 ,"method":"tools/call","jsonrpc":"2.0"}'
    await relay.from_client(raw)
    assert server.sent == [raw]
    reply = b'{"jsonrpc":"2.0","id":1,"result":{"content":[],"unknownField":{"x":1e400}}}'.replace(b"1e400", b"1")
    await relay.from_server(reply)
    assert client.sent == [reply]


async def test_number_and_string_ids_are_different_requests() -> None:
    relay, client, server, _ = make()
    await relay.from_client(req(1, "ping"))
    await relay.from_client(req("1", "ping"))
    assert len(server.sent) == 2
    await relay.from_server(b'{"jsonrpc":"2.0","id":"1","result":{"s":1}}')
    await relay.from_server(b'{"jsonrpc":"2.0","id":1,"result":{"n":1}}')
    assert [m["id"] for m in client.json()] == ["1", 1]
    assert not relay.session.pending


async def test_a_second_request_with_an_id_in_flight_is_refused() -> None:
    relay, client, server, _ = make()
    await relay.from_client(req(5, "ping"))
    await relay.from_client(req(5, "ping"))
    assert len(server.sent) == 1
    assert client.json()[0]["error"]["code"] == INVALID_REQUEST


async def test_blocked_request_gets_an_error_with_its_id_and_never_reaches_the_server() -> None:
    relay, client, server, audit = make(Rule("tools/call", Block(reason="no shell")))
    await relay.from_client(req("abc", name="run_shell"))
    assert server.sent == []
    (err,) = client.json()
    assert err["id"] == "abc" and err["error"]["code"] == BLOCKED and err["error"]["message"] == "no shell"
    # The block is committed before the error leaves.
    assert audit.committed and audit.committed[0].action == "block"
    # A later cancellation of the blocked request is swallowed.
    await relay.from_client(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"abc"}}')
    assert server.sent == []
    assert audit.records[-1].action == "drop"


async def test_cancellation_of_a_request_in_flight_is_forwarded() -> None:
    relay, _, server, _ = make()
    await relay.from_client(req(3, "tools/call", name="slow"))
    cancel = b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}'
    await relay.from_client(cancel)
    assert server.sent[-1] == cancel


async def test_monitor_mode_forwards_the_original_and_records_the_verdict() -> None:
    relay, client, server, audit = make(Rule("tools/call", Block(reason="no")), enforce=False)
    raw = req(1, name="run_shell")
    await relay.from_client(raw)
    assert server.sent == [raw] and client.sent == []
    rec = audit.records[-1]
    assert rec.action == "block" and rec.enforced is False and rec.reason == "no"


async def test_blocked_response_is_replaced_by_an_error_never_dropped() -> None:
    relay, client, _, _ = make(Rule("tools/call", Block(reason="leak"), kinds=frozenset({Kind.RESPONSE})))
    await relay.from_client(req(9, name="read"))
    await relay.from_server(b'{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"secret"}]}}')
    (msg,) = client.json()
    assert msg["id"] == 9 and msg["error"]["message"] == "leak" and "result" not in msg
    assert not relay.session.pending


async def test_modified_response_is_re_encoded() -> None:
    new = {"jsonrpc": "2.0", "id": 2, "result": {"content": [{"type": "text", "text": "[redacted]"}]}}
    relay, client, _, audit = make(Rule("tools/call", Modify(obj=new, reason="redacted"), kinds=frozenset({Kind.RESPONSE})))
    await relay.from_client(req(2, name="read"))
    await relay.from_server(b'{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"AKIA..."}]}}')
    assert client.json() == [new]
    assert audit.committed[-1].action == "modify"


async def test_respond_answers_the_sender_in_place() -> None:
    relay, client, server, _ = make(Rule("ping", Respond(result={"ok": True})))
    await relay.from_client(req(4, "ping"))
    assert server.sent == []
    assert client.json() == [{"jsonrpc": "2.0", "id": 4, "result": {"ok": True}}]


async def test_blocked_notification_is_dropped() -> None:
    relay, client, server, _ = make(Rule("notifications/message", Block(reason="x")))
    await relay.from_server(b'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}')
    assert client.sent == [] and server.sent == []


async def test_blocked_server_request_is_answered_to_the_server() -> None:
    relay, client, server, _ = make(Rule("sampling/createMessage", Block(reason="no sampling")))
    await relay.from_server(req(11, "sampling/createMessage", messages=[]))
    assert client.sent == []
    (err,) = server.json()
    assert err["id"] == 11 and err["error"]["message"] == "no sampling"


async def test_server_requests_and_client_answers_relay_both_ways() -> None:
    relay, client, server, _ = make()
    sampling = req(0, "sampling/createMessage", messages=[], maxTokens=5)
    await relay.from_server(sampling)
    answer = b'{"jsonrpc":"2.0","id":0,"result":{"role":"assistant","content":{"type":"text","text":"hi"},"model":"m"}}'
    await relay.from_client(answer)
    assert client.sent == [sampling] and server.sent == [answer]


async def test_response_with_unknown_id_is_dropped_and_recorded() -> None:
    relay, client, _, audit = make()
    await relay.from_server(b'{"jsonrpc":"2.0","id":77,"result":{}}')
    assert client.sent == []
    assert audit.records[-1].action == "invalid" and "77" in audit.records[-1].reason


@pytest.mark.parametrize("enforce", [True, False])
async def test_an_inspector_that_raises_blocks_only_in_enforce_mode(enforce: bool) -> None:
    relay, client, server, audit = make(Rule("tools/call", RuntimeError("bug")), enforce=enforce)
    raw = req(1, name="x")
    await relay.from_client(raw)
    if enforce:
        assert server.sent == [] and client.json()[0]["error"]["code"] == INTERNAL_ERROR
    else:
        assert server.sent == [raw] and client.sent == []
    assert any(f.category == "internal" for f in audit.records[-1].findings)


async def test_enforce_mode_blocks_when_the_audit_log_is_broken() -> None:
    relay, client, server, audit = make(enforce=True)
    audit.healthy = False
    await relay.from_client(req(1, "ping"))
    assert server.sent == [] and client.json()[0]["error"]["code"] == INTERNAL_ERROR


async def test_upstream_lost_fails_every_request_in_flight_at_once() -> None:
    relay, client, _, _ = make()
    await relay.from_client(req(1, "tools/call", name="a"))
    await relay.from_client(req("two", "ping"))
    await relay.upstream_lost("the server exited with code 1")
    errors = client.json()
    assert sorted(str(e["id"]) for e in errors) == ["1", "two"]
    assert all(e["error"]["code"] == UPSTREAM_UNAVAILABLE for e in errors)
    assert not relay.session.pending


async def test_batch_is_refused_on_a_version_without_batches() -> None:
    relay, client, server, _ = make(version="2025-06-18")
    await relay.from_client(b'[' + req(1, "ping") + b"," + req(2, "ping") + b"]")
    assert server.sent == []
    replies = client.json()[0]
    assert [r["id"] for r in replies] == [1, 2]
    assert all(r["error"]["code"] == INVALID_REQUEST and "2025-06-18" in r["error"]["message"] for r in replies)


async def test_batch_on_2025_03_26_is_split_and_reassembled() -> None:
    relay, client, server, _ = make(Rule("tools/call", Block(reason="no")), version="2025-03-26")
    batch = b"[" + req(1, "ping") + b"," + req(2, "tools/call", name="x") + b"]"
    await relay.from_client(batch)
    assert json.loads(server.sent[0]) == [json.loads(req(1, "ping"))]
    assert [r["id"] for r in json.loads(client.sent[0])] == [2]
    untouched = b"[" + req(3, "ping") + b"," + req(4, "ping") + b"]"
    await relay.from_client(untouched)
    assert server.sent[-1] == untouched


async def test_invalid_message_gets_an_error_and_is_recorded() -> None:
    relay, client, server, audit = make()
    await relay.from_client(b'{"jsonrpc":"2.0","id":3,"method":"x","params":{"a":1,"a":2}}')
    assert server.sent == []
    assert client.json()[0]["id"] == 3
    assert audit.records[-1].action == "invalid"


async def test_a_request_whose_id_is_a_lone_surrogate_gets_a_parse_error_with_a_null_id() -> None:
    # Found by tests/test_relay_fuzz.py: quoting the id back used to raise while encoding.
    relay, client, server, audit = make()
    await relay.from_client(b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}')
    assert server.sent == []
    [answer] = client.json()
    assert answer["id"] is None and answer["error"]["code"] == -32700
    assert audit.records[-1].action == "invalid"


async def test_non_json_output_of_the_server_is_logged_not_answered() -> None:
    relay, client, server, audit = make()
    await relay.from_server(b"Server listening on stdio")
    assert client.sent == [] and server.sent == []
    assert audit.records[-1].action == "invalid"


async def test_pass_findings_are_recorded_with_the_frame() -> None:
    finding = Finding("pii", "email", path="$.params.arguments.to")
    relay, _, _, audit = make(Rule("tools/call", Pass([finding])))
    await relay.from_client(req(1, name="send"))
    assert audit.records[-1].findings == [finding]
    assert audit.records[-1].tool == "send"


async def test_a_request_the_client_cancelled_gets_no_error_when_the_server_dies() -> None:
    relay, client, server, _ = make(enforce=False)
    await relay.from_client(req(40, "tools/call", name="slow"))
    await relay.from_client(req(41, "tools/call", name="other"))
    cancel = b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":40}}'
    await relay.from_client(cancel)
    assert server.sent[-1] == cancel  # forwarded as usual
    await relay.upstream_lost("gone")
    assert [m["id"] for m in client.json()] == [41]


async def test_an_answer_crossing_a_cancellation_still_reaches_the_client() -> None:
    relay, client, _, _ = make()
    await relay.from_client(req(7, "tools/call", name="slow"))
    await relay.from_client(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}')
    late = b'{"jsonrpc":"2.0","id":7,"result":{"content":[]}}'
    await relay.from_server(late)
    assert client.sent == [late]

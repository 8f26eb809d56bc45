"""The aggregate's bookkeeping against scripted upstreams: names, ids, tokens, cursors, cancellations.

Each upstream is a fake message back end that records what it receives and answers through
a handler; the client side is a sink that records what the aggregate delivers.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mcpwall.config import Settings
from mcpwall.frame import Direction, classify, encode
from mcpwall.relay import Outgoing
from mcpwall.transports.aggregate import Aggregator
from mcpwall.transports.backend import MessageBackend

Handler = Callable[[dict[str, Any]], dict[str, Any] | None]


class FakeBackend(MessageBackend):
    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.received: list[dict[str, Any]] = []

    async def start(self) -> None:
        return None

    async def send(self, out: Outgoing) -> None:
        obj = json.loads(out.data)
        self.received.append(obj)
        answer = self.handler(obj)
        if answer is not None:
            await self.say(answer)

    async def say(self, obj: dict[str, Any]) -> None:
        await self.relay.from_server(encode(obj))

    async def _shutdown(self) -> None:
        return None


class FakeUpstream:
    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend

    async def make_message(self) -> FakeBackend:
        return self.backend


class Sink:
    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    async def from_server(self, raw: bytes, transport: dict[str, Any] | None = None) -> None:
        self.got.append(json.loads(raw))

    async def upstream_lost(self, reason: str) -> None:
        self.got.append({"lost": reason})


def result(obj: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": obj["id"], "result": value}


def server(tools: dict[str | None, dict[str, Any]], caps: dict[str, Any] | None = None) -> Handler:
    """Answers initialize, pages of tools/list (keyed by cursor), and echoes tools/call."""
    def handle(obj: dict[str, Any]) -> dict[str, Any] | None:
        method, params = obj.get("method"), obj.get("params") or {}
        if "id" not in obj or method is None:
            return None
        if method == "initialize":
            return result(obj, {"protocolVersion": "2025-06-18", "serverInfo": {"name": "s", "version": "1"},
                                "capabilities": caps if caps is not None else {"tools": {"listChanged": True}}})
        if method == "tools/list":
            return result(obj, tools[params.get("cursor")])
        if method == "tools/call":
            return result(obj, {"content": [{"type": "text", "text": params["name"]}]})
        return None
    return handle


async def make(handlers: dict[str, Handler], routes: dict[str, str] | None = None
               ) -> tuple[Aggregator, dict[str, FakeBackend], Sink]:
    settings = Settings()
    settings.http.aggregate.routes = dict(routes or {})
    backends = {name: FakeBackend(h) for name, h in handlers.items()}
    agg = Aggregator(settings, {name: FakeUpstream(b) for name, b in backends.items()})  # type: ignore[misc]
    sink = Sink()
    agg.relay = sink
    await agg.start()
    await client(agg, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}})
    return agg, backends, sink


async def client(agg: Aggregator, obj: dict[str, Any]) -> None:
    raw = encode(obj)
    await agg.send(Outgoing(raw, [classify(obj, raw, Direction.C2S)]))


async def test_initialize_merges_capabilities_and_names_the_aggregate() -> None:
    _, backends, sink = await make({
        "a": server({}, {"tools": {"listChanged": False}, "logging": {}}),
        "b": server({}, {"tools": {"listChanged": True}, "resources": {"subscribe": True}}),
    })
    answer = sink.got[-1]
    assert answer["id"] == 0
    caps = answer["result"]["capabilities"]
    assert caps == {"tools": {"listChanged": True}, "logging": {}, "resources": {"subscribe": True}}
    assert answer["result"]["serverInfo"]["name"] == "mcpwall-aggregate"
    assert [m["method"] for m in backends["a"].received] == ["initialize"]


async def test_lists_are_merged_namespaced_and_paged_with_one_cursor_for_every_upstream() -> None:
    agg, backends, sink = await make({
        "a": server({None: {"tools": [{"name": "x"}], "nextCursor": "a-page-2"}, "a-page-2": {"tools": [{"name": "z"}]}}),
        "b": server({None: {"tools": [{"name": "x"}]}}),
    })
    await client(agg, {"jsonrpc": "2.0", "id": "list", "method": "tools/list"})
    first = sink.got[-1]
    assert first["id"] == "list"
    assert [t["name"] for t in first["result"]["tools"]] == ["a__x", "b__x"]
    await client(agg, {"jsonrpc": "2.0", "id": 2, "method": "tools/list",
                       "params": {"cursor": first["result"]["nextCursor"]}})
    second = sink.got[-1]
    assert [t["name"] for t in second["result"]["tools"]] == ["a__z"] and "nextCursor" not in second["result"]
    assert backends["a"].received[-1]["params"] == {"cursor": "a-page-2"}
    assert [m["method"] for m in backends["b"].received] == ["initialize", "tools/list"]


async def test_calls_are_routed_by_prefix_or_rule_and_answered_with_the_clients_own_id() -> None:
    agg, backends, sink = await make({"a": server({}), "b": server({})}, routes={"search*": "b"})
    await client(agg, {"jsonrpc": "2.0", "id": "q", "method": "tools/call", "params": {"name": "a__x"}})
    await client(agg, {"jsonrpc": "2.0", "id": "7", "method": "tools/call", "params": {"name": "search_docs"}})
    await client(agg, {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "c__x"}})
    assert backends["a"].received[-1]["params"]["name"] == "x"
    assert isinstance(backends["a"].received[-1]["id"], int)
    assert backends["b"].received[-1]["params"]["name"] == "search_docs"
    assert sink.got[-3] == {"jsonrpc": "2.0", "id": "q", "result": {"content": [{"type": "text", "text": "x"}]}}
    assert sink.got[-2]["id"] == "7"
    assert sink.got[-1]["id"] == 9 and "unknown tool" in sink.got[-1]["error"]["message"]


async def test_progress_tokens_and_cancellations_are_mapped_per_upstream() -> None:
    agg, backends, sink = await make({"a": lambda obj: None if obj.get("method") != "initialize" else
                                      server({})(obj), "b": server({})})
    await client(agg, {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                       "params": {"name": "a__slow", "_meta": {"progressToken": "mine"}}})
    sent = backends["a"].received[-1]
    token = sent["params"]["_meta"]["progressToken"]
    assert token != "mine"
    await backends["a"].say({"jsonrpc": "2.0", "method": "notifications/progress",
                             "params": {"progressToken": token, "progress": 1}})
    await backends["a"].say({"jsonrpc": "2.0", "method": "notifications/progress",
                             "params": {"progressToken": "not-ours", "progress": 1}})
    assert sink.got[-1] == {"jsonrpc": "2.0", "method": "notifications/progress",
                            "params": {"progressToken": "mine", "progress": 1}}
    await client(agg, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5}})
    assert backends["a"].received[-1] == {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                          "params": {"requestId": sent["id"]}}
    assert all(m.get("method") != "notifications/cancelled" for m in backends["b"].received)


async def test_server_requests_get_client_facing_ids_and_answers_go_back_with_the_upstreams_id() -> None:
    agg, backends, sink = await make({"a": server({}), "b": server({})})
    await backends["b"].say({"jsonrpc": "2.0", "id": "srv-1", "method": "sampling/createMessage", "params": {}})
    await backends["a"].say({"jsonrpc": "2.0", "id": "srv-1", "method": "roots/list"})
    sampling, roots = sink.got[-2], sink.got[-1]
    assert sampling["id"] != roots["id"]
    await client(agg, {"jsonrpc": "2.0", "id": roots["id"], "result": {"roots": []}})
    await client(agg, {"jsonrpc": "2.0", "id": sampling["id"], "result": {"model": "m"}})
    assert backends["a"].received[-1] == {"jsonrpc": "2.0", "id": "srv-1", "result": {"roots": []}}
    assert backends["b"].received[-1] == {"jsonrpc": "2.0", "id": "srv-1", "result": {"model": "m"}}


async def test_resource_uris_carry_their_upstream_both_ways() -> None:
    def handle(obj: dict[str, Any]) -> dict[str, Any] | None:
        if obj.get("method") == "resources/read":
            uri = obj["params"]["uri"]
            return result(obj, {"contents": [{"uri": uri, "text": "t"}]})
        if obj.get("method") == "resources/subscribe":
            return result(obj, {})
        return server({}, {"resources": {"subscribe": True}})(obj)

    agg, backends, sink = await make({"a": handle, "b": handle})
    await client(agg, {"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "b+file:///x"}})
    assert backends["b"].received[-1]["params"]["uri"] == "file:///x"
    assert sink.got[-1]["result"]["contents"][0]["uri"] == "b+file:///x"
    await client(agg, {"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe", "params": {"uri": "a+file:///y"}})
    assert backends["a"].received[-1]["params"]["uri"] == "file:///y"
    await backends["a"].say({"jsonrpc": "2.0", "method": "notifications/resources/updated",
                             "params": {"uri": "file:///y"}})
    assert sink.got[-1]["params"]["uri"] == "a+file:///y"


async def test_an_upstream_that_goes_away_fails_its_calls_and_the_rest_keeps_working() -> None:
    agg, backends, sink = await make({"a": lambda obj: server({})(obj) if obj.get("method") == "initialize" else None,
                                      "b": server({None: {"tools": [{"name": "y"}]}})})
    await client(agg, {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "a__x"}})
    await backends["a"]._lost("crashed")
    assert sink.got[-1]["id"] == 3 and "crashed" in sink.got[-1]["error"]["message"]
    await client(agg, {"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
    assert [t["name"] for t in sink.got[-1]["result"]["tools"]] == ["b__y"]
    assert not agg.stale
    await backends["b"]._lost("crashed too")
    await asyncio.wait_for(agg.done.wait(), 5)


async def test_log_messages_name_the_upstream_that_logged() -> None:
    _, backends, sink = await make({"a": server({}), "b": server({})})
    await backends["a"].say({"jsonrpc": "2.0", "method": "notifications/message",
                             "params": {"level": "info", "logger": "db", "data": "connected"}})
    await backends["b"].say({"jsonrpc": "2.0", "method": "notifications/message",
                             "params": {"level": "warning", "data": "slow"}})
    assert [m["params"] for m in sink.got[-2:]] == [
        {"level": "info", "logger": "a/db", "data": "connected"},
        {"level": "warning", "logger": "b", "data": "slow"},
    ]


# --- generated traffic ------------------------------------------------------------------------

_TEXT = st.one_of(st.text(max_size=12), st.sampled_from(
    ["a__x", "b__y", "a+file:///t", "b+", "__", "a__", "+", "search_x", "eyJhIjoxfQ", "bm90IGpzb24=", ""]))
_ANY = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), _TEXT),
                    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(_TEXT, c, max_size=3)), max_leaves=6)
_METHODS = ["tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list", "resources/read",
            "resources/templates/list", "resources/subscribe", "resources/unsubscribe", "completion/complete",
            "ping", "logging/setLevel", "x/y", "initialize"]


@st.composite
def _client_message(draw: Any) -> dict[str, Any]:
    method = draw(st.sampled_from([*_METHODS, "notifications/cancelled", "notifications/x"]))
    obj: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    params = draw(st.one_of(st.none(), st.dictionaries(st.sampled_from(
        ["name", "uri", "cursor", "arguments", "ref", "argument", "level", "_meta", "requestId"]), _ANY, max_size=4)))
    if params is not None:
        obj["params"] = params
    if not method.startswith("notifications/"):
        obj["id"] = draw(st.one_of(st.integers(1, 10**6), st.text(max_size=5)))
    return obj


def _upstream(style: int) -> Handler:
    """0: full answers, 1: errors, 2: answers of the wrong shape, 3: empty results."""
    def handle(obj: dict[str, Any]) -> dict[str, Any] | None:
        if "id" not in obj or "method" not in obj:
            return None
        if obj["method"] == "initialize":
            return result(obj, {"protocolVersion": "2025-06-18", "serverInfo": {"name": "s", "version": "1"},
                                "capabilities": {"tools": {}, "prompts": {}, "resources": {"subscribe": True},
                                                 "completions": {}, "logging": {}}})
        if style == 0:
            return result(obj, {"tools": [{"name": "x"}], "prompts": [{"name": "p"}],
                                "resources": [{"uri": "file:///t", "name": "t"}],
                                "resourceTemplates": [{"uriTemplate": "file:///{x}", "name": "t"}], "nextCursor": "c2",
                                "content": [{"type": "resource_link", "uri": "file:///r", "name": "r"}],
                                "contents": [{"uri": "file:///t", "text": "x"}], "completion": {"values": ["a"]}})
        if style == 1:
            return {"jsonrpc": "2.0", "id": obj["id"], "error": {"code": -1, "message": "no"}}
        if style == 2:
            return result(obj, {"tools": "not a list", "nextCursor": 5, "resources": [1, None, {"uri": 3}],
                                "contents": "x", "content": [None, 1, {"type": "resource", "resource": {"uri": 5}}]})
        return result(obj, {})
    return handle


@settings(max_examples=100, deadline=None)
@given(messages=st.lists(_client_message(), max_size=15), style_a=st.integers(0, 3), style_b=st.integers(0, 3))
def test_every_request_gets_one_answer_whatever_the_client_and_upstreams_say(
        messages: list[dict[str, Any]], style_a: int, style_b: int) -> None:
    async def play() -> None:
        agg, _, sink = await make({"a": _upstream(style_a), "b": _upstream(style_b)}, routes={"search*": "b"})
        start = len(sink.got)
        for message in messages:
            await client(agg, message)
        answers = Counter(repr(g["id"]) for g in sink.got[start:] if "id" in g and "method" not in g)
        asked = Counter(repr(m["id"]) for m in messages if "method" in m and "id" in m)
        for key, n in asked.items():
            assert 1 <= answers[key] <= n, (key, answers[key], n)
        assert set(answers) <= set(asked)

    asyncio.run(play())

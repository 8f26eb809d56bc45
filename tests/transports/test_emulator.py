"""The Streamable HTTP client emulation behind message fronts (``wrap --upstream``, SSE, WebSocket).

A small aiohttp upstream drops a response stream after its first event; the emulation must
resume it with ``GET`` + ``Last-Event-ID`` and deliver the answer, re-open a dropped GET
stream with the last id it saw, keep the upstream session id to itself, turn an HTTP
refusal into a JSON-RPC error with the request's id, and treat 404 as the end of the session.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from mcpwall.frame import Direction, classify, encode
from mcpwall.relay import Outgoing
from mcpwall.transports.emulator import StreamableClient
from mcpwall.transports.upstream import HttpUpstream, UpstreamClient

SID = "UPSTREAM-SESSION"


@dataclass
class Upstream:
    seen: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    get_opened: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    push: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    gone: bool = False
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    hanging: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = await request.json() if request.method == "POST" else None
        self.seen.append((request.method, headers, body))
        if self.gone:
            return web.Response(status=404)
        if request.method == "DELETE":
            return web.Response(status=200)
        if request.method == "GET":
            last = headers.get("last-event-id")
            self.get_opened.put_nowait(last)
            resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await resp.prepare(request)
            if last == "call-1":  # resuming the dropped answer
                answer = {"jsonrpc": "2.0", "id": 7, "result": {"resumed": True}}
                await resp.write(f"id: call-2\ndata: {json.dumps(answer)}\n\n".encode())
                return resp
            if last is None:
                await resp.write(b"id: get-1\nretry: 10\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/one\"}\n\n")
                return resp  # dropped at once: the client must come back with get-1
            note = await self.push.get()
            await resp.write(f"id: get-2\ndata: {note}\n\n".encode())
            await asyncio.Event().wait()
        method = body.get("method")
        if method == "initialize":
            return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "serverInfo": {"name": "u", "version": "1"}}},
                headers={"mcp-session-id": SID})
        if "id" not in body or "method" not in body:
            return web.Response(status=202)
        if method == "refuse":
            return web.Response(status=403)
        if method == "tools/list":
            return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": {"tools": [{
                "name": "pick", "inputSchema": {"type": "object", "properties": {
                    "region": {"type": "string", "x-mcp-header": "Region"}}}}]}})
        if method == "tools/call" and body["params"].get("name") == "pick":
            return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": {"content": []}})
        if method == "hang":
            resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(b"id: h-1\ndata: \n\n")
            self.hanging.set()
            try:
                await asyncio.Event().wait()
            finally:
                self.hung_up.set()
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"id: call-1\nretry: 10\ndata: \n\n")  # priming event, then the stream drops
        return resp


class Sink:
    def __init__(self) -> None:
        self.got: asyncio.Queue[Any] = asyncio.Queue()
        self.lost: list[str] = []

    async def from_server(self, raw: bytes, transport: dict[str, Any] | None = None) -> None:
        self.got.put_nowait(json.loads(raw))

    async def upstream_lost(self, reason: str) -> None:
        self.lost.append(reason)

    async def next(self) -> Any:
        return await asyncio.wait_for(self.got.get(), 10)


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Upstream, StreamableClient, Sink]]:
    up = Upstream()
    app = web.Application()
    app.router.add_route("*", "/mcp", up.handle)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = UpstreamClient(f"http://127.0.0.1:{port}/mcp", {"authorization": "Bearer up"})
    emu = StreamableClient(HttpUpstream(client))
    sink = Sink()
    emu.relay = sink
    try:
        yield up, emu, sink
    finally:
        await emu.close()
        await client.close()
        await runner.cleanup()


async def send(emu: StreamableClient, obj: dict[str, Any]) -> None:
    raw = encode(obj)
    await emu.send(Outgoing(raw, [classify(obj, raw, Direction.C2S)]))


async def initialize(emu: StreamableClient, sink: Sink) -> None:
    await send(emu, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}})
    assert (await sink.next())["result"]["protocolVersion"] == "2025-11-25"


async def test_a_dropped_answer_stream_is_resumed_with_last_event_id(setup: tuple[Upstream, StreamableClient, Sink]
                                                                     ) -> None:
    up, emu, sink = setup
    await initialize(emu, sink)
    await send(emu, {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "x"}})
    assert await sink.next() == {"jsonrpc": "2.0", "id": 7, "result": {"resumed": True}}
    gets = [h for m, h, _ in up.seen if m == "GET"]
    assert gets[-1]["last-event-id"] == "call-1" and gets[-1]["mcp-session-id"] == SID
    assert gets[-1]["mcp-protocol-version"] == "2025-11-25"
    assert gets[-1]["authorization"] == "Bearer up"


async def test_the_get_stream_opens_after_initialized_and_resumes_after_a_drop(
        setup: tuple[Upstream, StreamableClient, Sink]) -> None:
    up, emu, sink = setup
    await initialize(emu, sink)
    await send(emu, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert await asyncio.wait_for(up.get_opened.get(), 10) is None
    assert (await sink.next())["method"] == "notifications/one"
    assert await asyncio.wait_for(up.get_opened.get(), 10) == "get-1"
    up.push.put_nowait(json.dumps({"jsonrpc": "2.0", "method": "notifications/two"}))
    assert (await sink.next())["method"] == "notifications/two"


async def test_an_http_refusal_becomes_a_json_rpc_error_with_the_request_id(
        setup: tuple[Upstream, StreamableClient, Sink]) -> None:
    _, emu, sink = setup
    await initialize(emu, sink)
    await send(emu, {"jsonrpc": "2.0", "id": "r", "method": "refuse"})
    answer = await sink.next()
    assert answer["id"] == "r" and "HTTP 403" in answer["error"]["message"]


async def test_a_forgotten_upstream_session_ends_the_back_end(setup: tuple[Upstream, StreamableClient, Sink]) -> None:
    up, emu, sink = setup
    await initialize(emu, sink)
    up.gone = True
    await send(emu, {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "x"}})
    answer = await sink.next()
    assert answer["id"] == 9 and "error" in answer
    await asyncio.wait_for(emu.done.wait(), 10)
    assert emu.stale and sink.lost


async def test_on_2026_07_28_a_cancellation_closes_the_request_stream_instead_of_posting(
        setup: tuple[Upstream, StreamableClient, Sink]) -> None:
    up, emu, _ = setup
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    await send(emu, {"jsonrpc": "2.0", "id": 11, "method": "hang", "params": {"_meta": meta}})
    await asyncio.wait_for(up.hanging.wait(), 10)
    await send(emu, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 11}})
    await asyncio.wait_for(up.hung_up.wait(), 10)
    posted = [b.get("method") for m, _, b in up.seen if m == "POST"]
    assert "notifications/cancelled" not in posted
    hang = next(h for m, h, b in up.seen if m == "POST" and b.get("method") == "hang")
    assert hang["mcp-method"] == "hang" and hang["mcp-protocol-version"] == "2026-07-28"
    assert "mcp-session-id" not in hang


async def test_on_2026_07_28_tool_arguments_are_mirrored_in_headers_from_the_learned_schema(
        setup: tuple[Upstream, StreamableClient, Sink]) -> None:
    up, emu, sink = setup
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    await send(emu, {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}})
    assert (await sink.next())["result"]["tools"][0]["name"] == "pick"
    await send(emu, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                     "params": {"name": "pick", "arguments": {"region": "eu-west"}, "_meta": meta}})
    assert (await sink.next())["id"] == 2
    call = next(h for m, h, b in up.seen if m == "POST" and b.get("id") == 2)
    assert call["mcp-param-region"] == "eu-west" and call["mcp-name"] == "pick"

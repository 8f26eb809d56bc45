"""A hand-written Streamable HTTP MCP server for fault injection, with aiohttp.web.

It records every request it receives (headers and body) and lets a test see what mcpwall
sent upstream: which headers crossed, whether a stream was closed, how a batch was split.
Tools (by ``params.name`` of ``tools/call``):

- ``echo``: JSON answer with the arguments, after ``arguments.delay`` seconds;
- ``stream``: SSE answer: a priming event, a progress notification, then the result;
- ``hang``: SSE answer that sends a priming event and then nothing; when mcpwall closes
  the stream, ``closed`` is set.

``initialize`` answers with the requested protocol version and a session id; ``forget()``
drops all sessions so the next request gets 404 (an expired upstream session).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SESSION_ID = "UPSTREAM-SECRET-SESSION-1234"


@dataclass
class Seen:
    method: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeUpstream:
    seen: list[Seen] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    hang_started: asyncio.Event = field(default_factory=asyncio.Event)
    counter: int = 0
    runner: web.AppRunner | None = None
    url: str = ""

    def forget(self) -> None:
        self.sessions.clear()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/mcp", self.handle)
        self.runner = web.AppRunner(app, handler_cancellation=True)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/mcp"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def posts(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and (
            method is None or (isinstance(s.body, dict) and s.body.get("method") == method))]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        body: Any = None
        if request.method == "POST":
            body = json.loads(await request.read())
        self.seen.append(Seen(request.method, headers, body))
        modern = headers.get("mcp-protocol-version") == "2026-07-28"
        if request.method == "DELETE":
            self.sessions.discard(headers.get("mcp-session-id", ""))
            return web.Response(status=200)
        if request.method == "GET":
            if headers.get("mcp-session-id") not in self.sessions:
                return web.Response(status=404)
            resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(b'id: g1\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hi"}}\n\n')
            try:
                await asyncio.sleep(3600)
            finally:
                self.closed.set()
            return resp
        if isinstance(body, list):
            return web.json_response({"jsonrpc": "2.0", "id": None,
                                      "error": {"code": -32600, "message": "no batches here"}}, status=400)
        method = body.get("method")
        if not modern and method != "initialize" and headers.get("mcp-session-id") not in self.sessions:
            return web.json_response({"jsonrpc": "2.0", "id": None,
                                      "error": {"code": -32001, "message": "Session not found"}}, status=404)
        if modern and headers.get("mcp-method") != method:
            return web.json_response({"jsonrpc": "2.0", "id": body.get("id"),
                                      "error": {"code": -32020, "message": "upstream saw a mismatch"}}, status=400)
        if "id" not in body or "method" not in body:
            return web.Response(status=202)
        msg_id = body["id"]
        params = body.get("params") or {}
        if method == "initialize":
            self.counter += 1
            sid = f"{SESSION_ID}-{self.counter}"
            self.sessions.add(sid)
            result = {"protocolVersion": params.get("protocolVersion", "2025-06-18"), "capabilities": {"tools": {}},
                      "serverInfo": {"name": "fake", "version": "1"}}
            return web.json_response({"jsonrpc": "2.0", "id": msg_id, "result": result},
                                     headers={"mcp-session-id": sid})
        if method == "tools/list":
            tools = [{"name": "echo", "inputSchema": {"type": "object", "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"}}}}]
            return web.json_response({"jsonrpc": "2.0", "id": msg_id, "result": {"tools": tools}})
        if method == "tools/call":
            name = params.get("name")
            args = params.get("arguments") or {}
            if name in ("echo", "renamed"):
                await asyncio.sleep(float(args.get("delay", 0)))
                result = {"content": [{"type": "text", "text": json.dumps(args)}], "name": name}
                return web.json_response({"jsonrpc": "2.0", "id": msg_id, "result": result})
            resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(b"id: p0\nretry: 500\ndata:\n\n")
            if name == "stream":
                note = {"jsonrpc": "2.0", "method": "notifications/progress",
                        "params": {"progressToken": 1, "progress": 1}}
                await resp.write(b": a comment\n\nid: p1\ndata: " + json.dumps(note).encode() + b"\n\n")
                done = {"jsonrpc": "2.0", "id": msg_id, "result": {"content": []}}
                await resp.write(b"id: p2\ndata: " + json.dumps(done).encode() + b"\n\n")
                return resp
            self.hang_started.set()
            try:
                await asyncio.sleep(3600)
            finally:
                self.closed.set()
            return resp
        return web.json_response({"jsonrpc": "2.0", "id": msg_id, "result": {}})


async def _serve_forever(port: int) -> None:
    upstream = FakeUpstream()
    app = web.Application()
    app.router.add_route("*", "/mcp", upstream.handle)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    import sys

    asyncio.run(_serve_forever(int(sys.argv[1])))

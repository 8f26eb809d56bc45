"""One small MCP server speaking every transport mcpwall fronts and backs, for the transport matrix.

The same logic answers over stdio (``--stdio``) and, on one HTTP port (``--http PORT``),
over Streamable HTTP (``/mcp``: JSON answers, and an SSE answer for a call that asks the
client something), legacy HTTP+SSE (``/sse`` + ``/messages``) and WebSocket (``/ws``,
subprotocol ``mcp``). Tools:

- ``echo``: returns its ``text`` argument;
- ``ask``: sends the client a ``sampling/createMessage`` request, then a
  ``notifications/message`` log, then answers with what the client's reply said.

Written by hand on aiohttp so that nothing but this file decides what crosses the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

Send = Callable[[dict[str, Any]], Awaitable[None]]

TOOLS = [
    {"name": "echo", "description": "Returns its text.",
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "ask", "description": "Asks the client for a sample, then answers with it.",
     "inputSchema": {"type": "object", "properties": {}}},
]


class Logic:
    """The server's behaviour for one connection; ``send`` is where server messages go."""

    def __init__(self) -> None:
        self.waiting: dict[Any, asyncio.Future[Any]] = {}
        self.ids = itertools.count(1)

    async def handle(self, msg: dict[str, Any], send: Send) -> dict[str, Any] | None:
        """The answer to a request (None for notifications and replies)."""
        if "method" not in msg:
            fut = self.waiting.pop(msg.get("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return None
        if "id" not in msg:
            return None
        method, params, mid = msg["method"], msg.get("params") or {}, msg["id"]
        if method == "initialize":
            result: Any = {"protocolVersion": params.get("protocolVersion", "2025-06-18"),
                           "capabilities": {"tools": {"listChanged": True}, "logging": {}},
                           "serverInfo": {"name": "matrix", "version": "1.0"}}
        elif method == "ping":
            result = {}
        elif method == "tools/list":
            result = {"tools": TOOLS}
        elif method == "tools/call" and params.get("name") == "echo":
            result = {"content": [{"type": "text", "text": str((params.get("arguments") or {}).get("text"))}]}
        elif method == "tools/call" and params.get("name") == "ask":
            rid = f"srv-{next(self.ids)}"
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self.waiting[rid] = fut
            await send({"jsonrpc": "2.0", "id": rid, "method": "sampling/createMessage", "params": {
                "messages": [{"role": "user", "content": {"type": "text", "text": "say something"}}],
                "maxTokens": 5}})
            reply = await asyncio.wait_for(fut, 15)
            await send({"jsonrpc": "2.0", "method": "notifications/message",
                        "params": {"level": "info", "data": "asked the client"}})
            said = reply.get("result", {}).get("content", {}).get("text")
            result = {"content": [{"type": "text", "text": f"the client said: {said}"}]}
        else:
            return {"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": f"no method {method}"}}
        return {"jsonrpc": "2.0", "id": mid, "result": result}


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


# --- stdio --------------------------------------------------------------------------------------


async def serve_stdio() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    logic = Logic()
    lock = asyncio.Lock()

    async def send(obj: dict[str, Any]) -> None:
        async with lock:
            sys.stdout.write(dumps(obj) + "\n")
            sys.stdout.flush()

    async def one(msg: dict[str, Any]) -> None:
        answer = await logic.handle(msg, send)
        if answer is not None:
            await send(answer)

    tasks = set()
    while line := await reader.readline():
        if line.strip():
            task = asyncio.create_task(one(json.loads(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)


# --- HTTP: Streamable HTTP, legacy SSE, WebSocket ----------------------------------------------------


class Http:
    def __init__(self) -> None:
        self.sessions: dict[str, Logic] = {}
        self.legacy: dict[str, tuple[Logic, asyncio.Queue[str]]] = {}

    async def mcp(self, request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            return web.Response(status=405)
        if request.method == "DELETE":
            self.sessions.pop(request.headers.get("mcp-session-id", ""), None)
            return web.Response(status=200)
        msg = await request.json()
        sid = request.headers.get("mcp-session-id")
        if msg.get("method") == "initialize":
            sid = uuid.uuid4().hex
            self.sessions[sid] = Logic()
        logic = self.sessions.get(sid or "")
        if logic is None:
            return web.Response(status=404)
        headers = {"mcp-session-id": sid} if sid else {}
        if "method" not in msg or "id" not in msg:
            await logic.handle(msg, _nowhere)
            return web.Response(status=202, headers=headers)
        if (msg.get("params") or {}).get("name") != "ask":
            answer = await logic.handle(msg, _nowhere)
            return web.json_response(answer, headers=headers, dumps=dumps)
        resp = web.StreamResponse(headers={"content-type": "text/event-stream", **headers})
        await resp.prepare(request)

        async def send(obj: dict[str, Any]) -> None:
            await resp.write(f"event: message\ndata: {dumps(obj)}\n\n".encode())

        answer = await logic.handle(msg, send)
        if answer is not None:
            await send(answer)
        await resp.write_eof()
        return resp

    async def sse(self, request: web.Request) -> web.StreamResponse:
        sid = uuid.uuid4().hex
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.legacy[sid] = (Logic(), queue)
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(f"event: endpoint\ndata: /messages?sessionId={sid}\n\n".encode())
        try:
            while True:
                data = await queue.get()
                await resp.write(f"event: message\ndata: {data}\n\n".encode())
        finally:
            self.legacy.pop(sid, None)

    async def messages(self, request: web.Request) -> web.Response:
        entry = self.legacy.get(request.query.get("sessionId", ""))
        if entry is None:
            return web.Response(status=404)
        logic, queue = entry
        msg = await request.json()

        async def send(obj: dict[str, Any]) -> None:
            queue.put_nowait(dumps(obj))

        async def one() -> None:
            answer = await logic.handle(msg, send)
            if answer is not None:
                await send(answer)

        task = asyncio.create_task(one())
        request.app["tasks"].add(task)
        task.add_done_callback(request.app["tasks"].discard)
        return web.Response(status=202, text="Accepted")

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("mcp",))
        await ws.prepare(request)
        logic = Logic()

        async def send(obj: dict[str, Any]) -> None:
            await ws.send_str(dumps(obj))

        async def one(msg: dict[str, Any]) -> None:
            answer = await logic.handle(msg, send)
            if answer is not None:
                await send(answer)

        tasks = set()
        async for frame in ws:
            if frame.type is WSMsgType.TEXT:
                task = asyncio.create_task(one(json.loads(frame.data)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        return ws


async def _nowhere(obj: dict[str, Any]) -> None:
    raise RuntimeError("this answer has no stream for server messages")


async def serve_http(port: int) -> None:
    h = Http()
    app = web.Application()
    app["tasks"] = set()
    app.router.add_route("*", "/mcp", h.mcp)
    app.router.add_get("/sse", h.sse)
    app.router.add_post("/messages", h.messages)
    app.router.add_get("/ws", h.ws)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--stdio", action="store_true")
    p.add_argument("--http", type=int)
    args = p.parse_args()
    asyncio.run(serve_stdio() if args.stdio else serve_http(args.http))


if __name__ == "__main__":
    main()

"""Every front with every back: the same small scenario gives the same messages everywhere.

Fronts (how the client reaches mcpwall): stdio (``mcpwall wrap``), Streamable HTTP, legacy
HTTP+SSE and WebSocket (``mcpwall proxy``). Backs (how mcpwall reaches the server):
Streamable HTTP, legacy HTTP+SSE, WebSocket and stdio. The server is
tests/servers/matrix_server.py, which speaks all four itself, so the baseline is the same
scenario run directly over each transport.

The scenario: initialize, notifications/initialized, tools/list, tools/call, a tools/call
during which the server asks the client (sampling/createMessage) and sends a log
notification before answering. What the client receives must be byte-for-byte the same
JSON values, in the same order, for all 4 direct runs and all 16 front x back pairs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from gateway import free_port, proxy, proxy_cmd, running, wait_port

from mcpwall.transports.sse import SSEParser

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SERVER = Path(__file__).resolve().parents[1] / "servers" / "matrix_server.py"
STDIO_SERVER = [sys.executable, str(SERVER), "--stdio"]
WAIT = 15.0
FRONTS = ("stdio", "streamable-http", "sse", "websocket")
BACKS = ("streamable-http", "sse", "websocket", "stdio")
VERSION = "2025-06-18"


# --- clients, one per front ---------------------------------------------------------------------


class Driver:
    """Sends JSON-RPC messages over one transport; ``recv`` returns what came back, in order."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.tasks: set[asyncio.Task[None]] = set()

    async def send(self, obj: dict[str, Any]) -> None:
        raise NotImplementedError

    async def recv(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.inbox.get(), WAIT)

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def sse(self, resp: aiohttp.ClientResponse) -> None:
        parser = SSEParser()
        async for chunk in resp.content.iter_any():
            for ev in parser.feed(chunk):
                if ev.is_message and ev.data is not None:
                    self.inbox.put_nowait(json.loads(ev.data))


class StdioDriver(Driver):
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        super().__init__()
        self.argv, self.env = argv, env
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(*self.argv, stdin=asyncio.subprocess.PIPE,
                                                         stdout=asyncio.subprocess.PIPE, env=self.env)
        self.spawn(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.inbox.put_nowait(json.loads(line))

    async def send(self, obj: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(obj).encode() + b"\n")
        await self.proc.stdin.drain()

    async def close(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await super().close()


class StreamableDriver(Driver):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.http = aiohttp.ClientSession()
        self.sid: str | None = None

    async def start(self) -> None:
        return None

    def headers(self) -> dict[str, str]:
        h = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        if self.sid:
            h["mcp-session-id"] = self.sid
            h["mcp-protocol-version"] = VERSION
        return h

    async def send(self, obj: dict[str, Any]) -> None:
        resp = await self.http.post(self.url, data=json.dumps(obj), headers=self.headers())
        assert resp.status in (200, 202), (resp.status, await resp.text())
        self.sid = resp.headers.get("mcp-session-id", self.sid)
        ctype = resp.headers.get("content-type", "")
        if ctype.startswith("text/event-stream"):
            self.spawn(self._stream(resp))
        elif resp.status == 200:
            self.inbox.put_nowait(json.loads(await resp.read()))
            resp.release()
        else:
            resp.release()
        if obj.get("method") == "notifications/initialized":
            self.spawn(self._get())

    async def _stream(self, resp: aiohttp.ClientResponse) -> None:
        async with resp:
            await self.sse(resp)

    async def _get(self) -> None:
        async with self.http.get(self.url, headers={**self.headers(), "accept": "text/event-stream"}) as resp:
            if resp.status == 200:
                await self.sse(resp)

    async def close(self) -> None:
        await super().close()
        if self.sid:
            with contextlib.suppress(aiohttp.ClientError):
                async with self.http.delete(self.url, headers=self.headers()):
                    pass
        await self.http.close()


class SseDriver(Driver):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.http = aiohttp.ClientSession()
        self.endpoint: asyncio.Future[str] | None = None

    async def start(self) -> None:
        self.endpoint = asyncio.get_running_loop().create_future()
        resp = await self.http.get(self.url, headers={"accept": "text/event-stream"})
        assert resp.status == 200
        self.spawn(self._read(resp))
        await asyncio.wait_for(asyncio.shield(self.endpoint), WAIT)

    async def _read(self, resp: aiohttp.ClientResponse) -> None:
        parser = SSEParser()
        async with resp:
            async for chunk in resp.content.iter_any():
                for ev in parser.feed(chunk):
                    if ev.event == "endpoint" and ev.data is not None and self.endpoint is not None:
                        self.endpoint.set_result(ev.data.decode())
                    elif ev.is_message and ev.data is not None:
                        self.inbox.put_nowait(json.loads(ev.data))

    async def send(self, obj: dict[str, Any]) -> None:
        assert self.endpoint is not None
        target = self.url.rsplit("/sse", 1)[0] + self.endpoint.result()
        async with self.http.post(target, data=json.dumps(obj), headers={"content-type": "application/json"}) as r:
            assert r.status == 202, r.status

    async def close(self) -> None:
        await super().close()
        await self.http.close()


class WsDriver(Driver):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.http = aiohttp.ClientSession()
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def start(self) -> None:
        self.ws = await self.http.ws_connect(self.url, protocols=("mcp",))
        assert self.ws.protocol == "mcp"
        self.spawn(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.inbox.put_nowait(json.loads(msg.data))

    async def send(self, obj: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(obj))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await super().close()
        await self.http.close()


async def scenario(d: Driver) -> list[dict[str, Any]]:
    """What the client receives, in order."""
    got = []
    await d.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": VERSION, "capabilities": {"sampling": {}}, "clientInfo": {"name": "m", "version": "1"}}})
    got.append(await d.recv())
    await d.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    await d.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    got.append(await d.recv())
    await d.send({"jsonrpc": "2.0", "id": "three", "method": "tools/call",
                  "params": {"name": "echo", "arguments": {"text": "héllo"}}})
    got.append(await d.recv())
    await d.send({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "ask", "arguments": {}}})
    request = await d.recv()
    got.append(request)
    await d.send({"jsonrpc": "2.0", "id": request.get("id"), "result": {
        "role": "assistant", "content": {"type": "text", "text": "hello from the client"}, "model": "m"}})
    got.append(await d.recv())
    got.append(await d.recv())
    return got


# --- servers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    port = free_port()
    with running([sys.executable, str(SERVER), "--http", str(port)], port):
        yield port


def back_target(back: str, port: int) -> list[str]:
    """mcpwall arguments that name the back end."""
    return {
        "streamable-http": ["--upstream", f"http://127.0.0.1:{port}/mcp"],
        "sse": ["--upstream", f"http://127.0.0.1:{port}/sse"],
        "websocket": ["--upstream", f"ws://127.0.0.1:{port}/ws"],
        "stdio": ["--", *STDIO_SERVER],
    }[back]


def direct_url(front: str, port: int) -> str:
    return {"streamable-http": f"http://127.0.0.1:{port}/mcp", "sse": f"http://127.0.0.1:{port}/sse",
            "websocket": f"ws://127.0.0.1:{port}/ws"}[front]


def driver(front: str, url_or_argv: Any, env: dict[str, str]) -> Driver:
    if front == "stdio":
        return StdioDriver(url_or_argv, env)
    return {"streamable-http": StreamableDriver, "sse": SseDriver, "websocket": WsDriver}[front](url_or_argv)


async def run(front: str, target: Any, env: dict[str, str]) -> list[dict[str, Any]]:
    d = driver(front, target, env)
    await d.start()  # type: ignore[attr-defined]
    try:
        return await scenario(d)
    finally:
        await d.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("matrix")
    return {**os.environ, "MCPWALL_AUDIT__PATH": str(work / "audit.db"), "MCPWALL_STATE_DIR": str(work / "state")}


@pytest.fixture(scope="module")
def baseline(upstream: int, env: dict[str, str]) -> list[dict[str, Any]]:
    runs = {front: asyncio.run(run(front, STDIO_SERVER if front == "stdio" else direct_url(front, upstream), env))
            for front in FRONTS}
    first = runs["stdio"]
    assert all(r == first for r in runs.values()), json.dumps(runs, indent=1)
    assert first[3]["method"] == "sampling/createMessage" and first[4]["method"] == "notifications/message"
    assert first[5]["result"]["content"][0]["text"] == "the client said: hello from the client"
    return first


@pytest.mark.parametrize("back", BACKS)
def test_every_http_front_gives_the_direct_results_over_this_back(back: str, upstream: int, env: dict[str, str],
                                                                  baseline: list[dict[str, Any]]) -> None:
    with proxy(*back_target(back, upstream), env=env) as gateway:
        listen = gateway.port
        for front in ("streamable-http", "sse", "websocket"):
            path = {"streamable-http": "/mcp", "sse": "/sse", "websocket": "/mcp"}[front]
            scheme = "ws" if front == "websocket" else "http"
            got = asyncio.run(run(front, f"{scheme}://127.0.0.1:{listen}{path}", env))
            assert got == baseline, f"{front} front over {back} back:\n{json.dumps(got, indent=1)}"


@pytest.mark.parametrize("back", BACKS)
def test_the_stdio_front_gives_the_direct_results_over_this_back(back: str, upstream: int, env: dict[str, str],
                                                                 baseline: list[dict[str, Any]]) -> None:
    argv = [sys.executable, "-m", "mcpwall", "wrap", *back_target(back, upstream)]
    got = asyncio.run(run("stdio", argv, env))
    assert got == baseline, f"stdio front over {back} back:\n{json.dumps(got, indent=1)}"



# --- edges of the new fronts ----------------------------------------------------------------------


def test_websocket_front_needs_the_mcp_subprotocol_and_an_allowed_origin(upstream: int, env: dict[str, str]) -> None:
    async def attempt(url: str, **kwargs: Any) -> int | str:
        async with aiohttp.ClientSession() as http:
            try:
                async with http.ws_connect(url, **kwargs) as ws:
                    return f"open:{ws.protocol}"
            except aiohttp.WSServerHandshakeError as e:
                return e.status

    with proxy(*back_target("streamable-http", upstream), env=env) as gateway:
        url = f"ws://127.0.0.1:{gateway.port}/mcp"
        assert asyncio.run(attempt(url, protocols=("mcp",))) == "open:mcp"
        assert asyncio.run(attempt(url)) == 403
        assert asyncio.run(attempt(url, protocols=("mcp",), origin="http://evil.example")) == 403
        assert asyncio.run(attempt(url, protocols=("mcp",), headers={"host": "evil.example"})) == 403


def test_legacy_sse_front_names_its_own_endpoint_and_binds_the_session_to_the_caller(
        upstream: int, env: dict[str, str]) -> None:
    async def go(listen: int) -> tuple[str, int, int]:
        d = SseDriver(f"http://127.0.0.1:{listen}/sse")
        await d.start()
        try:
            assert d.endpoint is not None
            endpoint = d.endpoint.result()
            async with aiohttp.ClientSession() as http:
                post = f"http://127.0.0.1:{listen}{endpoint}"
                body = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
                async with http.post(post, data=body, headers={"content-type": "application/json",
                                                              "authorization": "Bearer someone"}) as r:
                    stranger = r.status
                async with http.post(post.split("?")[0] + "?sessionId=nope", data=body,
                                     headers={"content-type": "application/json"}) as r:
                    unknown = r.status
            return endpoint, stranger, unknown
        finally:
            await d.close()

    with proxy(*back_target("sse", upstream), env=env) as gateway:
        endpoint, stranger, unknown = asyncio.run(go(gateway.port))
    assert endpoint.startswith("/messages?sessionId=") and "127.0.0.1" not in endpoint and str(upstream) not in endpoint
    assert stranger == 404 and unknown == 404


def test_sigterm_ends_open_legacy_sse_and_websocket_sessions_within_the_drain_time(
        upstream: int, env: dict[str, str]) -> None:
    listen = free_port()
    proc = subprocess.Popen(proxy_cmd(listen, *back_target("websocket", upstream)),
                            env={**env, "MCPWALL_HTTP__DRAIN_TIMEOUT": "3"})

    async def go() -> tuple[bool, bool, float]:
        sse = SseDriver(f"http://127.0.0.1:{listen}/sse")
        ws = WsDriver(f"ws://127.0.0.1:{listen}/ws")
        await sse.start()
        await ws.start()
        t0 = time.monotonic()
        proc.terminate()
        sse_task = next(iter(sse.tasks))
        ws_task = next(iter(ws.tasks))
        done, _ = await asyncio.wait({sse_task, ws_task}, timeout=10)
        await asyncio.to_thread(proc.wait, 10)
        elapsed = time.monotonic() - t0
        ended = (sse_task in done, ws_task in done)
        await sse.close()
        await ws.close()
        return ended[0], ended[1], elapsed

    try:
        wait_port(listen, proc)
        sse_ended, ws_ended, elapsed = asyncio.run(go())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert sse_ended and ws_ended
    assert proc.returncode == 0 and elapsed < 3 + 2

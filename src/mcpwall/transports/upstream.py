"""The back end for a remote MCP server over Streamable HTTP, with aiohttp.

One :class:`HttpUpstream` per mcpwall session holds that session's upstream session id;
the client never sees it, nor the upstream's host: only whitelisted headers cross, in
either direction. The client's ``Authorization`` and cookies are never forwarded; the
credentials for the upstream come from its config entry. Redirects are never followed
(a 3xx becomes a 502), so a server cannot send mcpwall, with those credentials, elsewhere.

Every upstream SSE stream is parsed with mcpwall's own parser: messages go through the
relay; priming events, ``retry`` instructions and comments are passed on as they are, so
event ids survive for ``Last-Event-ID`` resumption. When the client's stream goes away the
upstream response is closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from ..frame import Frame, Kind, encode, error_message
from ..relay import Outgoing
from . import mirror
from .backend import Exchange, Head, exchange_of
from .sse import SSEParser

log = logging.getLogger(__name__)

# Request headers of the client that mean something to an MCP server.
FORWARD = ("accept", "content-type", "mcp-protocol-version", "last-event-id")
JSON = "application/json"
SSE = "text/event-stream"


def _ctype(resp: aiohttp.ClientResponse) -> str:
    return resp.headers.get("content-type", "").split(";")[0].strip().lower()


class UpstreamClient:
    """The aiohttp session and settings shared by every session to one upstream."""

    def __init__(self, url: str, headers: Mapping[str, str] | None = None, *, connect_timeout: float = 10.0,
                 max_bytes: int = 64 * 1024 * 1024, verify_tls: bool = True, limit: int = 512) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.max_bytes = max_bytes
        self._connect_timeout = connect_timeout
        self._verify = verify_tls
        self._limit = limit
        self._http: aiohttp.ClientSession | None = None
        self.connect_timeout = connect_timeout
        # Tool input schemas seen in tools/list answers, for Mcp-Param-* headers (2026-07-28).
        self.tools: dict[str, Any] = {}

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=self._limit, ssl=self._verify,
                                             force_close=False)
            self._http = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, connect=self._connect_timeout, sock_connect=self._connect_timeout),
                auto_decompress=True, cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent",),
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


class HttpUpstream:
    """The server side of one mcpwall session, spoken to over Streamable HTTP."""

    def __init__(self, client: UpstreamClient, *, stateless: bool = False) -> None:
        self.client = client
        self.relay: Any = None  # the Relay, or a StreamableClient standing in for it
        self.session_id: str | None = None  # the upstream's, never shown to the client
        self.stateless = stateless
        # The negotiated protocol version, for callers that send no MCP-Protocol-Version of
        # their own (a stdio or WebSocket client behind :class:`~.emulator.StreamableClient`).
        self.version: str | None = None
        self._stale = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def stale(self) -> bool:
        return self._stale

    # --- requests -----------------------------------------------------------------------

    def _headers(self, out: Outgoing, front: Mapping[str, str] | None) -> dict[str, str]:
        h: dict[str, str] = {"content-type": JSON, "accept": f"{JSON}, {SSE}"}
        if front:
            for name in FORWARD:
                if name in front and name != "content-type":
                    h[name] = front[name]
        if self.stateless and len(out.frames) == 1:
            frame = out.frames[0]
            schema = None
            if frame.method == "tools/call":
                tool_name = frame.params.get("name")
                tool = self.client.tools.get(tool_name) if isinstance(tool_name, str) else None
                schema = tool.get("inputSchema") if isinstance(tool, dict) else None
            derived = mirror.derive(frame.obj, schema)
            if schema is None and front is not None and frame.raw is frame.transport.get("raw"):
                # Unknown schema and an unchanged body: the client's own param headers still hold.
                derived.update({k: v for k, v in front.items() if k.startswith(mirror.PARAM_PREFIX)})
            h.update(derived)
        initialize = len(out.frames) == 1 and out.frames[0].method == "initialize"
        if front is None and not initialize and "mcp-protocol-version" not in h and \
                (version := self._version()) is not None:
            h["mcp-protocol-version"] = version
        if self.session_id is not None:
            h["mcp-session-id"] = self.session_id
        h.update(self.client.headers)  # the upstream's own credentials, from the config
        return h

    def _version(self) -> str | None:
        if self.version is not None:
            return self.version
        session = getattr(self.relay, "session", None)
        version = getattr(session, "protocol_version", None)
        return version if isinstance(version, str) else None

    async def send(self, out: Outgoing) -> None:
        first = out.frames[0] if out.frames else None
        ex = exchange_of(first.transport) if first is not None else None
        front = first.transport.get("headers") if first is not None else None
        if len(out.frames) > 1:
            # A 2025-03-26 batch: one upstream request per element, answers re-assembled by the
            # front, so an upstream that never implemented batches still serves them.
            await asyncio.gather(*(self.send(Outgoing(f.raw, [f])) for f in out.frames))
            return
        try:
            resp = await self.client.http.post(self.client.url, data=out.data, headers=self._headers(out, front),
                                               allow_redirects=False)
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            await self._unreachable(ex, out, f"cannot reach the MCP server: {type(e).__name__}")
            return
        await self._answer(resp, ex, out.frames)

    async def _answer(self, resp: aiohttp.ClientResponse, ex: Exchange | None, frames: list[Frame]) -> None:
        sid = resp.headers.get("mcp-session-id")
        if sid and not self.stateless:
            self.session_id = sid
        status, ctype = resp.status, _ctype(resp)
        if ex is None:
            # A message mcpwall itself sends (an error for a blocked server request): nothing waits.
            resp.release()
            return
        if 300 <= status < 400:
            resp.release()
            ex.head = Head(502, "status", _error_body(None, "the MCP server answered with a redirect; "
                                                      "mcpwall does not follow redirects"), JSON)
            return
        if status == 404 and self.session_id is not None and frames and frames[0].method != "initialize":
            self._stale = True
        if status == 202:
            resp.release()
            ex.head = Head(202, "accepted")
            return
        if status == 200 and ctype == SSE:
            ex.head = Head(200, "sse")
            task = asyncio.create_task(self._pump(resp, ex))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        try:
            body = await resp.content.read(self.client.max_bytes + 1)
        except (TimeoutError, aiohttp.ClientError, OSError):
            body = b""
        finally:
            resp.release()
        if len(body) > self.client.max_bytes:
            ex.head = Head(502, "status", _error_body(None, "the MCP server's answer is too large"), JSON)
            return
        if status == 200 and ctype == JSON and body.strip():
            ex.head = Head(200, "json")
            if self.relay is not None:
                await self.relay.from_server(body, {"exchange": ex})
            ex.end()
            return
        if ex.batch:
            # One element of a batch failed at the HTTP level: its requests get errors, so the
            # re-assembled answer is complete.
            self._fail(ex, frames, f"the MCP server answered HTTP {status}")
            return
        # An HTTP-level answer (400, 404, 405, 406, 415 ...): repeated to the client without
        # the upstream's other headers.
        ex.head = Head(status, "status", body if ctype == JSON else b"", JSON if ctype == JSON else "")

    async def _pump(self, resp: aiohttp.ClientResponse, ex: Exchange) -> None:
        """Relay one upstream SSE stream onto the client's stream ``ex``."""
        ex.on_close(resp.close)
        parser = SSEParser(self.client.max_bytes)
        try:
            async for chunk in resp.content.iter_any():
                for ev in parser.feed(chunk):
                    if ex.closed:
                        return
                    if ev.id is not None:
                        ex.last_event_id = ev.id
                    if ev.retry is not None:
                        ex.retry = ev.retry
                    if ev.is_message and self.relay is not None:
                        assert ev.data is not None
                        await self.relay.from_server(ev.data, {"exchange": ex, "event_id": ev.id})
                    elif not ev.is_message:
                        ex.event(ev.encode())
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            if not ex.closed:
                log.info("upstream stream ended: %s", type(e).__name__)
        except Exception:
            log.exception("relaying an upstream stream failed")
        finally:
            resp.close()
            ex.end()

    async def _unreachable(self, ex: Exchange | None, out: Outgoing, why: str) -> None:
        log.warning("%s", why)
        if ex is None:
            return
        ex.head = Head(502, "status", _error_body(None, why), JSON)
        if any(f.kind is Kind.REQUEST for f in out.frames):
            ex.head = None
            self._fail(ex, out.frames, f"MCP server unavailable: {why}")

    def _fail(self, ex: Exchange, frames: list[Frame], why: str) -> None:
        """Answer the requests among ``frames`` with an error on ``ex``."""
        for f in frames:
            if f.kind is Kind.REQUEST and f.id is not None:
                session = getattr(self.relay, "session", None)
                if session is not None:
                    session.close_request(f.direction, f.id)
                obj = error_message(f.id, -32000, why)
                reply = Frame(encode(obj), obj, Kind.ERROR, f.direction.reverse, f.id, f.method, f)
                ex.deliver(Outgoing(reply.raw, [reply]))
        ex.end()

    # --- the GET stream and the end of a session --------------------------------------------

    async def open_stream(self, ex: Exchange, last_event_id: str | None) -> None:
        headers = {"accept": SSE}
        if self.session_id is not None:
            headers["mcp-session-id"] = self.session_id
        if (version := self._version()) is not None:
            headers["mcp-protocol-version"] = version
        if last_event_id is not None:
            headers["last-event-id"] = last_event_id
        headers.update(self.client.headers)
        try:
            resp = await self.client.http.get(self.client.url, headers=headers, allow_redirects=False)
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            ex.head = Head(502, "status", _error_body(None, f"cannot reach the MCP server: {type(e).__name__}"), JSON)
            return
        await self._answer(resp, ex, [])

    async def close(self) -> int:
        for task in list(self._tasks):
            task.cancel()
        if self.session_id is None or self.stateless:
            return 204
        headers = {"mcp-session-id": self.session_id, **self.client.headers}
        if (version := self._version()) is not None:
            headers["mcp-protocol-version"] = version
        try:
            async with self.client.http.delete(self.client.url, headers=headers, allow_redirects=False) as resp:
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError):
            status = 204
        self.session_id = None
        return 204 if status < 300 else status

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _error_body(msg_id: Any, message: str, code: int = -32000) -> bytes:
    return encode(error_message(msg_id, code, message))

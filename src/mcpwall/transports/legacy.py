"""The legacy HTTP+SSE transport (protocol 2024-11-05): ``GET /sse`` + ``POST /messages``.

Back end (:class:`LegacySseUpstream`): one event stream per mcpwall session. The server's
first event, ``endpoint``, names the URL to POST messages to; it must stay on the stream's
own origin (scheme, host and port), so a server cannot make mcpwall send the client's
messages, with the upstream's credentials, elsewhere. Messages come back as ``message``
events on the stream. The transport has no resumption: when the stream ends the session
is over.

Front (:func:`serve_stream`, :func:`serve_post`): the gateway answers ``GET /sse`` with an
event stream whose ``endpoint`` event points at mcpwall's own ``/messages`` path with
mcpwall's own session id, whatever the upstream is; nothing of the upstream (host, path,
ids) is shown. ``POST /messages?sessionId=...`` takes one message (or a 2025-03-26 batch)
and answers 202; the answers travel on the event stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp

from ..errors import UpstreamError
from ..relay import Outgoing
from .backend import MessageBackend
from .sse import SSEParser, comment, encode_event
from .upstream import UpstreamClient

if TYPE_CHECKING:
    from .http import Gateway, Receive, Send

log = logging.getLogger(__name__)

JSON = "application/json"
SSE = "text/event-stream"


def _origin(url: str) -> tuple[str, str, int | None]:
    u = urlsplit(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme.lower(), (u.hostname or "").lower(), port


class LegacySseUpstream(MessageBackend):
    """The server side of one mcpwall session over the legacy HTTP+SSE transport."""

    def __init__(self, client: UpstreamClient) -> None:
        super().__init__()
        self.client = client
        self.endpoint: str | None = None
        self._resp: aiohttp.ClientResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[str] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        try:
            resp = await self.client.http.get(self.client.url, headers={"accept": SSE, **self.client.headers},
                                              allow_redirects=False)
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise UpstreamError(f"cannot reach the MCP server: {type(e).__name__}") from None
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if resp.status != 200 or ctype != SSE:
            resp.release()
            raise UpstreamError(f"the MCP server's event stream answered HTTP {resp.status} ({ctype or 'no type'})")
        self._resp = resp
        self._reader = asyncio.create_task(self._read(resp), name="legacy-sse-upstream")
        try:
            self.endpoint = await asyncio.wait_for(asyncio.shield(self._ready), self.client.connect_timeout)
        except TimeoutError:
            await self.close()
            raise UpstreamError("the MCP server sent no endpoint event") from None

    async def _read(self, resp: aiohttp.ClientResponse) -> None:
        parser = SSEParser(self.client.max_bytes)
        why = "the MCP server closed its event stream"
        try:
            async for chunk in resp.content.iter_any():
                for ev in parser.feed(chunk):
                    if ev.event == "endpoint" and ev.data is not None:
                        self._endpoint(ev.data.decode("utf-8", "replace").strip())
                    elif ev.is_message and self.relay is not None:
                        assert ev.data is not None
                        await self.relay.from_server(ev.data)
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            why = f"the MCP server's event stream broke: {type(e).__name__}"
        except Exception as e:
            log.exception("relaying the legacy SSE stream failed")
            why = f"relaying the MCP server's event stream failed: {type(e).__name__}"
        finally:
            resp.close()
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(UpstreamError(why))
        await self._lost(why)

    def _endpoint(self, data: str) -> None:
        url = urljoin(self.client.url, data)
        if _origin(url) != _origin(self.client.url):
            err = UpstreamError("the MCP server's endpoint event points at another origin; refused")
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(err)
            return
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(url)

    async def send(self, out: Outgoing) -> None:
        if self.endpoint is None or self.stale:
            raise ConnectionResetError("the MCP server's event stream is closed")
        headers = {"content-type": JSON, **self.client.headers}
        try:
            async with self.client.http.post(self.endpoint, data=out.data, headers=headers,
                                             allow_redirects=False) as resp:
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            await self._lost(f"cannot reach the MCP server: {type(e).__name__}")
            raise ConnectionResetError("the MCP server is gone") from None
        if status == 404:
            await self._lost("the MCP server forgot the session (HTTP 404)")
            raise ConnectionResetError("the MCP server forgot the session")
        if status >= 300:
            log.warning("the MCP server refused a message with HTTP %s", status)

    async def _shutdown(self) -> None:
        if self._resp is not None:
            self._resp.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader


# --- the front --------------------------------------------------------------------------------


class SseClient:
    """The client side of one legacy SSE session: the relay's client peer."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = False

    async def send(self, out: Outgoing) -> None:
        if self.closed:
            raise ConnectionResetError("the client's event stream is closed")
        self.queue.put_nowait(out.data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


async def serve_stream(gateway: Gateway, prefix: str, target: Any, receive: Receive, send: Send,
                       headers: dict[str, str]) -> None:
    """``GET <prefix>/sse``: a new session, its endpoint event, then every message for the client."""
    from .http import Refused, _watch_disconnect

    if "text/event-stream" not in headers.get("accept", "text/event-stream"):
        raise Refused(406, "Not Acceptable: the event stream needs Accept: text/event-stream")
    if len(gateway.sessions) >= gateway.settings.max_sessions:
        raise Refused(503, "too many sessions (http.max_sessions)", headers=[(b"retry-after", b"5")])
    if gateway.open_streams >= gateway.settings.max_streams:
        raise Refused(503, "too many open streams", headers=[(b"retry-after", b"1")])
    peer = SseClient()
    session = await gateway.message_session(target, gateway.owner_of(headers), peer)
    sid = secrets.token_urlsafe(24)
    gateway.legacy[sid] = session
    gateway.open_streams += 1
    from .backend import Exchange

    ex = Exchange("get")
    watcher = asyncio.create_task(_watch_disconnect(receive, ex))
    ex.on_close(peer.close)

    async def upstream_gone() -> None:
        await session.backend.done.wait()
        peer.close()

    ended = asyncio.create_task(upstream_gone())
    keepalive = gateway.settings.sse_keepalive
    idle = 0.0
    try:
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache, no-transform"),
            (b"x-accel-buffering", b"no")]})
        endpoint = f"{prefix}/messages?sessionId={sid}".encode()
        await send({"type": "http.response.body", "body": encode_event(endpoint, event="endpoint"), "more_body": True})
        while True:
            try:
                data = await asyncio.wait_for(peer.queue.get(), keepalive)
            except TimeoutError:
                idle += keepalive
                if idle >= gateway.settings.sse_idle_timeout:
                    break
                await send({"type": "http.response.body", "body": comment(b" keepalive"), "more_body": True})
                continue
            idle = 0.0
            if data is None:
                break
            await send({"type": "http.response.body", "body": encode_event(data, event="message"),
                        "more_body": True})
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        pass
    finally:
        watcher.cancel()
        ended.cancel()
        gateway.open_streams -= 1
        gateway.legacy.pop(sid, None)
        peer.close()
        await session.close()


async def serve_post(gateway: Gateway, scope: dict[str, Any], receive: Receive, send: Send,
                     headers: dict[str, str]) -> None:
    """``POST <prefix>/messages?sessionId=...``: one message into the session; 202."""
    from .http import Refused, _answer

    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise Refused(415, "Unsupported Media Type: Content-Type must be application/json")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    sid = (query.get("sessionId") or query.get("session_id") or [""])[0]
    session = gateway.legacy.get(sid)
    if session is None or session.owner != gateway.owner_of(headers):
        raise Refused(404, "Session not found")
    body = await gateway._read_body(receive, headers)
    session.last_seen = time.monotonic()
    try:
        await session.relay.from_client(body)
    except ConnectionResetError:
        raise Refused(502 if not session.backend.stale else 404, "the MCP server is gone", -32000) from None
    await _answer(send, 202, b"Accepted", [(b"content-type", b"text/plain")], content_type=None)

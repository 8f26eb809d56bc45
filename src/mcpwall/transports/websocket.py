"""MCP over WebSocket: subprotocol ``mcp``, one JSON-RPC message per text frame.

Back end (:class:`WebSocketUpstream`, aiohttp's client): one connection per mcpwall session,
opened with the ``mcp`` subprotocol (a server that does not select it is refused), the
upstream's own credentials from its config entry, and a message size limit. When the
connection closes the session is over; a WebSocket has no resumption.

Front (:func:`serve_websocket`, on uvicorn's WebSocket support): a client that offers the
``mcp`` subprotocol gets a session of its own; every text frame is one message into the
relay; binary frames are refused (close code 1003). Host and Origin are checked by the
gateway before the upgrade, as for every other request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from ..errors import UpstreamError
from ..relay import Outgoing
from .backend import MessageBackend
from .upstream import UpstreamClient

if TYPE_CHECKING:
    from .http import Gateway, Receive, Send

log = logging.getLogger(__name__)

SUBPROTOCOL = "mcp"


class WebSocketUpstream(MessageBackend):
    """The server side of one mcpwall session over a WebSocket."""

    def __init__(self, client: UpstreamClient) -> None:
        super().__init__()
        self.client = client
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        try:
            ws = await self.client.http.ws_connect(
                self.client.url, protocols=(SUBPROTOCOL,), headers=self.client.headers,
                max_msg_size=self.client.max_bytes, autoping=True, heartbeat=30.0)
        except aiohttp.WSServerHandshakeError as e:
            raise UpstreamError(f"the MCP server refused the WebSocket upgrade (HTTP {e.status})") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise UpstreamError(f"cannot reach the MCP server: {type(e).__name__}") from None
        if ws.protocol != SUBPROTOCOL:
            await ws.close()
            raise UpstreamError("the MCP server did not accept the 'mcp' WebSocket subprotocol")
        self.ws = ws
        self._reader = asyncio.create_task(self._read(ws), name="websocket-upstream")

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        why = "the MCP server closed the WebSocket"
        try:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    if self.relay is not None:
                        await self.relay.from_server(msg.data.encode("utf-8"))
                elif msg.type is aiohttp.WSMsgType.BINARY:
                    log.warning("the MCP server sent a binary WebSocket frame; ignored")
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    why = f"the WebSocket to the MCP server broke: {ws.exception()!r}"
                    break
        except Exception as e:
            log.exception("relaying the upstream WebSocket failed")
            why = f"relaying the MCP server's WebSocket failed: {type(e).__name__}"
        await self._lost(why)

    async def send(self, out: Outgoing) -> None:
        ws = self.ws
        if ws is None or ws.closed or self.stale:
            raise ConnectionResetError("the WebSocket to the MCP server is closed")
        try:
            async with self._lock:
                await ws.send_frame(out.data, aiohttp.WSMsgType.TEXT)
        except (aiohttp.ClientError, OSError, RuntimeError):
            await self._lost("the WebSocket to the MCP server broke")
            raise ConnectionResetError("the WebSocket to the MCP server is closed") from None

    async def _shutdown(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader


# --- the front --------------------------------------------------------------------------------


class WebSocketClient:
    """The client side of one WebSocket session: the relay's client peer."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._lock = asyncio.Lock()
        self.closed = False

    async def send(self, out: Outgoing) -> None:
        if self.closed:
            raise ConnectionResetError("the client's WebSocket is closed")
        try:
            async with self._lock:
                await self._send({"type": "websocket.send", "text": out.data.decode("utf-8")})
        except (OSError, RuntimeError):
            self.closed = True
            raise ConnectionResetError("the client's WebSocket is closed") from None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            async with self._lock:
                await self._send({"type": "websocket.close", "code": code, "reason": reason})


async def serve_websocket(gateway: Gateway, target: Any, scope: dict[str, Any], receive: Receive, send: Send,
                          headers: dict[str, str]) -> None:
    """One WebSocket connection: accept with ``mcp``, then relay text frames both ways."""
    msg = await receive()
    if msg["type"] != "websocket.connect":
        return
    offered = [p.strip() for p in scope.get("subprotocols", [])]
    if SUBPROTOCOL not in offered:
        await send({"type": "websocket.close", "code": 1002, "reason": "the 'mcp' subprotocol is required"})
        return
    if gateway.draining or len(gateway.sessions) + len(gateway.legacy) >= gateway.settings.max_sessions:
        await send({"type": "websocket.close", "code": 1013, "reason": "try again later"})
        return
    peer = WebSocketClient(send)
    try:
        session = await gateway.message_session(target, gateway.owner_of(headers), peer)
    except Exception as e:
        log.error("cannot open the MCP server for a WebSocket client: %s", e)
        await send({"type": "websocket.close", "code": 1011, "reason": "cannot reach the MCP server"})
        return
    await send({"type": "websocket.accept", "subprotocol": SUBPROTOCOL})
    gateway.open_streams += 1
    gateway.websockets.add(peer)
    ended = asyncio.create_task(session.backend.done.wait())
    try:
        while True:
            nxt: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(receive())
            done, _ = await asyncio.wait({nxt, ended}, return_when=asyncio.FIRST_COMPLETED)
            if nxt not in done:
                nxt.cancel()
                await peer.close(1011, "the MCP server went away")
                break
            msg = nxt.result()
            if msg["type"] == "websocket.disconnect":
                peer.closed = True
                break
            if msg["type"] != "websocket.receive":
                continue
            text = msg.get("text")
            if text is None:
                await peer.close(1003, "MCP messages are text frames")
                break
            try:
                await session.relay.from_client(text.encode("utf-8"))
            except ConnectionResetError:
                await peer.close(1011, "the MCP server went away")
                break
    finally:
        ended.cancel()
        gateway.open_streams -= 1
        gateway.websockets.discard(peer)
        await session.close()

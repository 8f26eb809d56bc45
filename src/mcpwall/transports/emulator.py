"""A Streamable HTTP client for fronts that carry plain messages (stdio, legacy SSE, WebSocket).

A stdio client behind ``mcpwall wrap --upstream URL`` writes one message after another; the
upstream expects HTTP exchanges. :class:`StreamableClient` plays the HTTP client's part for
it, over an :class:`~.upstream.HttpUpstream` (so headers, credentials, redirects and the SSE
parser are the same as for the HTTP front):

- each client message is its own POST; a JSON or SSE answer is handed to the relay as it
  arrives; an HTTP-level refusal of a request becomes a JSON-RPC error with its id;
- a response stream that ends before the answer came is resumed with ``GET`` and
  ``Last-Event-ID`` (after the server's ``retry`` delay), a bounded number of times; a
  request whose stream cannot be resumed gets an error, never silence;
- after ``notifications/initialized`` the GET stream is opened, and re-opened with
  ``Last-Event-ID`` whenever it drops, until the server says it has none (405) or forgot
  the session (404, the back end turns stale);
- on 2026-07-28 (no sessions) a ``notifications/cancelled`` from the client closes the
  request's response stream instead, which is how that era cancels.

The upstream's session id and event ids never reach the client: the client sees messages only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import msgspec

from ..frame import Frame, IdKey, Kind, encode, error_message, id_key
from ..relay import Outgoing
from ..session import STATELESS_VERSIONS
from . import mirror
from .backend import Exchange, Item, MessageBackend
from .upstream import HttpUpstream

log = logging.getLogger(__name__)

MAX_RESUMES = 5
DEFAULT_RETRY_MS = 1000
MAX_RETRY_MS = 30_000


class _Peek(msgspec.Struct):
    """Just enough of a server message to tell replies apart (the rest is skipped, not built)."""

    id: Any = None
    method: Any = None
    result: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    error: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


_peek_one = msgspec.json.Decoder(_Peek)
_peek_many = msgspec.json.Decoder(list[_Peek])


class _InitResult(msgspec.Struct):
    protocolVersion: Any = None  # the wire name


class StreamableClient(MessageBackend):
    """Message back end over a Streamable HTTP upstream: emulates the HTTP client's side."""

    def __init__(self, upstream: HttpUpstream, *, max_resumes: int = MAX_RESUMES) -> None:
        super().__init__()
        self.upstream = upstream
        upstream.relay = self  # the upstream hands its messages here; they go on to self.relay
        self.max_resumes = max_resumes
        self._waiting: dict[IdKey, Exchange] = {}
        self._init_ids: set[IdKey] = set()
        self._tool_lists: set[IdKey] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._get: asyncio.Task[None] | None = None
        self._open: set[Exchange] = set()

    @property
    def stale(self) -> bool:
        return self._stale or self.upstream.stale

    @property
    def session_id(self) -> str | None:
        return self.upstream.session_id

    async def start(self) -> None:
        return None

    # --- client -> server -----------------------------------------------------------------

    async def send(self, out: Outgoing) -> None:
        if self.stale:
            raise ConnectionResetError("the MCP server ended the session")
        for frame in out.frames:
            if frame.kind is Kind.REQUEST and frame.method != "initialize":
                # A request may wait for the client's answer to a server request sent meanwhile:
                # never hold the client's next message behind it.
                self._spawn(self._post_quietly(frame))
            else:
                await self._post(frame)

    async def _post_quietly(self, frame: Frame) -> None:
        try:
            await self._post(frame)
        except ConnectionResetError:
            if frame.id is not None:
                await self._deliver(encode(error_message(frame.id, -32000, "the MCP server ended the session")))

    async def _post(self, frame: Frame) -> None:
        version = _meta_version(frame)
        if version in STATELESS_VERSIONS:
            self.upstream.stateless = True
        if frame.method == "initialize" and frame.kind is Kind.REQUEST and frame.id is not None:
            self._init_ids.add(id_key(frame.id))
        if frame.method == "tools/list" and frame.kind is Kind.REQUEST and frame.id is not None:
            self._tool_lists.add(id_key(frame.id))
        if self.upstream.stateless and frame.method == "notifications/cancelled":
            # No session to notify: closing the request's response stream cancels it.
            rid = frame.params.get("requestId")
            ex = self._waiting.get(id_key(rid)) if isinstance(rid, (int, str)) else None
            if ex is not None:
                ex.close()
            return
        expect = {id_key(frame.id)} if frame.kind is Kind.REQUEST and frame.id is not None else set()
        ex = Exchange("post", expect)
        for key in expect:
            self._waiting[key] = ex
        frame.transport = {"exchange": ex}
        self._open.add(ex)
        try:
            await self.upstream.send(Outgoing(frame.raw, [frame]))
        except BaseException:
            self._forget(ex)
            raise
        head = ex.head
        if head is not None and head.kind == "status":
            self._forget(ex)
            await self._refused(frame, head.status, head.body)
            if self.upstream.stale:
                await self._lost("the MCP server ended the session (HTTP 404)")
            return
        if head is not None and head.kind == "accepted":
            self._forget(ex)
            if frame.method == "notifications/initialized" and not self.upstream.stateless:
                self._listen()
            return
        # JSON answers are already relayed; SSE answers are being pumped; failures are queued.
        self._spawn(self._follow(ex))

    async def _refused(self, frame: Frame, status: int, body: bytes) -> None:
        if frame.kind is not Kind.REQUEST or frame.id is None:
            log.warning("the MCP server refused a %s with HTTP %s", frame.method or frame.kind, status)
            return
        data = body if _answers(body, frame.id) else encode(
            error_message(frame.id, -32000, f"the MCP server answered HTTP {status}"))
        await self._deliver(data)

    # --- server -> client -----------------------------------------------------------------

    async def from_server(self, raw: bytes, transport: dict[str, Any] | None = None) -> None:
        """Called by the upstream for every message it receives; passes it on to the relay."""
        self._note(raw)
        await self._deliver(raw)

    async def upstream_lost(self, reason: str) -> None:
        await self._lost(reason)

    async def _deliver(self, raw: bytes) -> None:
        if self.relay is not None:
            await self.relay.from_server(raw)

    def _note(self, raw: bytes) -> None:
        try:
            peeked = _peek_many.decode(raw) if raw.lstrip()[:1] == b"[" else [_peek_one.decode(raw)]
        except (msgspec.DecodeError, RecursionError):
            return
        for p in peeked:
            if p.method is None and isinstance(p.id, (int, str)) and not isinstance(p.id, bool) and (
                    p.result is not msgspec.UNSET or p.error is not msgspec.UNSET):
                key = id_key(p.id)
                ex = self._waiting.pop(key, None)
                if ex is not None:
                    ex.expect.discard(key)
                if key in self._tool_lists:
                    self._tool_lists.discard(key)
                    if isinstance(p.result, msgspec.Raw):
                        self._learn_tools(p.result)
                if key in self._init_ids and isinstance(p.result, msgspec.Raw):
                    self._init_ids.discard(key)
                    with contextlib.suppress(msgspec.DecodeError):
                        version = msgspec.json.decode(p.result, type=_InitResult).protocolVersion
                        if isinstance(version, str):
                            self.upstream.version = version

    def _learn_tools(self, result: msgspec.Raw) -> None:
        """Input schemas name the arguments mirrored in Mcp-Param-* headers (2026-07-28)."""
        try:
            tools = msgspec.json.decode(result).get("tools")
        except (msgspec.DecodeError, AttributeError, RecursionError):
            return
        for t in tools if isinstance(tools, list) else []:
            if isinstance(t, dict) and isinstance(t.get("name"), str):
                self.upstream.client.tools[t["name"]] = t

    async def _follow(self, ex: Exchange) -> None:
        """Drain one POST's stream; resume it with Last-Event-ID while an answer is owed."""
        resumes = 0
        current = ex
        try:
            while True:
                await self._drain(current)
                if not ex.expect:
                    return
                last = current.last_event_id
                if ex.closed or self.stale or last is None or resumes >= self.max_resumes:
                    break
                resumes += 1
                await asyncio.sleep(_delay(current.retry))
                nxt = Exchange("get", set(ex.expect))
                nxt.last_event_id = last
                self._open.add(nxt)
                for key in ex.expect:
                    self._waiting[key] = ex
                await self.upstream.open_stream(nxt, last)
                if nxt.head is None or nxt.head.kind != "sse":
                    self._open.discard(nxt)
                    break
                current = nxt
            for key in list(ex.expect):
                self._waiting.pop(key, None)
                if not ex.closed:
                    msg_id = key[1]
                    await self._deliver(encode(error_message(
                        msg_id, -32000, "the MCP server's response stream ended without an answer")))
        finally:
            self._forget(ex)
            self._open.discard(current)

    async def _drain(self, ex: Exchange) -> None:
        while True:
            item: Item = await ex.items.get()
            if item.kind == "end":
                return
            if item.kind == "message":
                # Errors the upstream made up for an unreachable server; nothing else queues here.
                await self._deliver(item.data)

    def _listen(self) -> None:
        if self._get is None or self._get.done():
            self._get = asyncio.create_task(self._get_stream(), name="upstream-get")

    async def _get_stream(self) -> None:
        last: str | None = None
        failures = 0
        while not self.stale:
            ex = Exchange("get")
            self._open.add(ex)
            try:
                await self.upstream.open_stream(ex, last)
                head = ex.head
                if head is None or head.kind != "sse":
                    if head is not None and head.status == 404 and self.upstream.session_id is not None:
                        await self._lost("the MCP server ended the session (HTTP 404)")
                        return
                    if head is not None and head.status in (405, 400, 406):
                        return  # the server offers no GET stream
                    failures += 1
                    if failures > self.max_resumes:
                        log.warning("giving up on the MCP server's GET stream")
                        return
                else:
                    failures = 0
                    await self._drain(ex)
                    last = ex.last_event_id or last
            finally:
                self._open.discard(ex)
            if self.stale:
                return
            await asyncio.sleep(_delay(ex.retry))

    # --- the end ------------------------------------------------------------------------------

    def _forget(self, ex: Exchange) -> None:
        self._open.discard(ex)
        for key in list(ex.expect):
            if self._waiting.get(key) is ex:
                self._waiting.pop(key, None)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _shutdown(self) -> None:
        for ex in list(self._open):
            ex.close()
            ex.end()
        tasks = [*self._tasks, *([self._get] if self._get is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.upstream.close()
        await self.upstream.aclose()


def _meta_version(frame: Frame) -> Any:
    meta = frame.params.get("_meta") if frame.kind is Kind.REQUEST else None
    return meta.get(mirror.PROTOCOL_META_KEY) if isinstance(meta, dict) else None


def _answers(body: bytes, msg_id: Any) -> bool:
    try:
        p = _peek_one.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return False
    return p.error is not msgspec.UNSET and p.id == msg_id and type(p.id) is type(msg_id)


def _delay(retry_ms: int | None) -> float:
    return min(retry_ms if retry_ms is not None else DEFAULT_RETRY_MS, MAX_RETRY_MS) / 1000


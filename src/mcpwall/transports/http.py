"""The Streamable HTTP front: ``mcpwall proxy``, a plain ASGI app served by uvicorn.

Each mcpwall session (minted here: random, visible ASCII, bound to the caller's
credentials) owns one :class:`~mcpwall.relay.Relay` and one back end (an HTTP upstream or
a stdio child, :mod:`.backend`). Every message of every request goes through that relay,
hence through the pipeline and the audit tap, exactly as over stdio.

Routing replies: the front puts the HTTP exchange in the transport details of the frames it
gives the relay; a reply goes to the exchange its request came in on (or, when the back end
names one, the exchange its message arrived on); server requests and notifications go to
the request stream they belong to, else to the GET stream. Two clients that use the same
request id are two sessions with two relays, so their answers can never cross.

Edge safety, on by default: loopback bind unless ``allow_remote``; Host and Origin checked
against DNS rebinding (403); bounded body (413), header time (408, in the protocol class)
and body time (408); bounded sessions (503), streams (503) and streams per session (429);
idle streams and sessions expire; a drain on SIGTERM/SIGINT that ends GET streams at once
and gives request streams ``drain_timeout`` seconds.

The 2026-07-28 era has no sessions: each POST gets its own relay; ``Mcp-Method``,
``Mcp-Name`` and ``Mcp-Param-*`` must agree with the body (400, JSON-RPC -32020), and are
derived again from the body that goes upstream; closing the response stream closes the
upstream request, which cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import ipaddress
import json
import logging
import secrets
import signal
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import uvicorn

from ..app import App
from ..audit.record import AuditRecord
from ..errors import HEADER_MISMATCH, INVALID_REQUEST, PARSE_ERROR, ConfigError
from ..frame import Direction, Frame, IdKey, Kind, encode, error_message, id_key
from ..relay import Outgoing, Relay
from ..session import KNOWN_VERSIONS, STATELESS_VERSIONS
from . import mirror
from .backend import END, Backend, Exchange, Item, exchange_of
from .settings import HttpSettings
from .sse import comment, encode_event

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
BackendFactory = Callable[[bool, str], Awaitable[Backend]]  # (stateless, owner)


@dataclass(eq=False)
class Target:
    """What one set of endpoints leads to: an upstream, a stdio command, or the aggregate.

    ``name`` is empty for the root endpoints (``/mcp``, ``/sse``, ``/messages``) and the
    upstream's name for ``/servers/<name>/...``. ``tools`` holds the tool definitions seen
    in answers, for the ``Mcp-Param-*`` headers of 2026-07-28.
    """

    name: str
    label: str
    make: BackendFactory
    tools: dict[str, Any] = field(default_factory=dict)


class MessageSession:
    """A session of a message front (legacy SSE, WebSocket): a relay and a message back end."""

    def __init__(self, owner: str, backend: Any, relay: Relay, peer: Any = None) -> None:
        self.owner = owner
        self.peer = peer
        self.backend = backend
        self.relay = relay
        self.last_seen = time.monotonic()
        self._closed = False

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.backend.close()
        except Exception:
            log.exception("closing a session's back end failed")

JSON = b"application/json"
SSE_TYPE = b"text/event-stream"
# JSON-RPC error codes that are HTTP 400s when mcpwall itself answers them.
BAD_REQUEST_CODES = frozenset({PARSE_ERROR, INVALID_REQUEST, -32602, HEADER_MISMATCH, -32022})
MAX_ORPHANS = 1000
REPLAY_EVENTS = 2000
CLOSE = [(b"connection", b"close")]  # the rest of an unread body must not be read as a request
RETRY_MS = 1000  # how soon a client should come back after an emulated stream is dropped

_current: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar("mcpwall_exchange", default=None)


class Disconnected(Exception):
    """The client went away while mcpwall was reading its request."""


class Refused(Exception):
    """An HTTP-level refusal (status, JSON-RPC code, message)."""

    def __init__(self, status: int, message: str, code: int = INVALID_REQUEST, msg_id: Any = None,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.msg_id = msg_id
        self.headers = headers or []


def _meta_version(obj: Any) -> Any:
    if not isinstance(obj, dict):
        return None
    params = obj.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return meta.get(mirror.PROTOCOL_META_KEY) if isinstance(meta, dict) else None


def _valid_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


# --- one mcpwall session --------------------------------------------------------------------


class FrontSession:
    """One client session: relay, back end, open streams. It is the relay's client peer."""

    def __init__(self, gateway: Gateway, sid: str | None, owner: str, backend: Backend, relay: Relay,
                 target: Target | None = None) -> None:
        self.gateway = gateway
        self.target = target if target is not None else gateway.root_target()
        self.id = sid
        self.owner = owner
        self.backend = backend
        self.relay = relay
        self.get_stream: Exchange | None = None
        self.streams: set[Exchange] = set()
        self.last_seen = time.monotonic()
        self.emulated = bool(getattr(backend, "emulated", False))
        self.orphans: deque[Item] = deque(maxlen=MAX_ORPHANS)
        # Stream emulation for stdio back ends: event ids, replay log, resumed streams.
        self._seq: dict[str, int] = {}
        self.replay: deque[tuple[str, int, bytes]] = deque(maxlen=REPLAY_EVENTS)
        self.resumed: dict[str, Exchange] = {}
        self.by_stream: dict[str, Exchange] = {}

    # The relay calls this for everything addressed to the client.
    async def send(self, out: Outgoing) -> None:
        self._learn(out)
        ex = self._route(out)
        first = out.frames[0] if out.frames else None
        event_id = first.transport.get("event_id") if first is not None else None
        if ex is None:
            home = self._home(out)
            if home is not None and home.stream_id is not None:
                # Its stream was dropped: keep it for a Last-Event-ID resumption of that stream.
                self._next_id(home.stream_id, out.data)
                return
            self.orphans.append(Item("message", out.data, event_id, out.frames))
            return
        if self.emulated and ex.stream_id is not None:
            event_id = self._next_id(ex.stream_id, out.data)
        if not ex.deliver(out, event_id):
            log.debug("dropped a message for a closed stream")

    def _learn(self, out: Outgoing) -> None:
        for f in out.frames:
            if f.kind is Kind.RESPONSE and f.method == "tools/list" and isinstance(f.result, dict):
                tools = f.result.get("tools")
                if isinstance(tools, list):
                    for t in tools:
                        if isinstance(t, dict) and isinstance(t.get("name"), str):
                            self.target.tools[t["name"]] = t

    def _home(self, out: Outgoing) -> Exchange | None:
        f = out.frames[0] if out.frames else None
        if not self.emulated or f is None or not f.is_reply or f.request is None:
            return None
        return exchange_of(f.request.transport)

    def _open(self, ex: Exchange | None) -> Exchange | None:
        if ex is None:
            return None
        if ex.closed and ex.stream_id is not None:
            return self._open(self.resumed.get(ex.stream_id)) if self.resumed.get(ex.stream_id) is not ex else None
        return None if ex.closed else ex

    def _route(self, out: Outgoing) -> Exchange | None:
        f = out.frames[0] if out.frames else None
        if f is None:
            return self._fallback()
        ex = self._open(exchange_of(f.transport))
        if ex is not None and ex.session is self:
            return ex
        if f.is_reply and f.request is not None:
            ex = self._open(exchange_of(f.request.transport))
            if ex is not None:
                return ex
        if self.emulated and not f.is_reply:
            ex = self._related(f)
            if ex is not None:
                return ex
        cur = _current.get()
        if cur is not None and not cur.closed and cur.session is self:
            return cur
        return self._fallback()

    def _related(self, f: Frame) -> Exchange | None:
        """For a stdio server: the request stream a server message most likely belongs to."""
        token = f.params.get("progressToken") if f.method == "notifications/progress" else None
        if token is not None:
            for p in self.relay.session.pending_from(Direction.C2S):
                if p.progress_token == token:
                    return self._open(exchange_of(p.frame.transport))
        posts = [s for s in self.streams if s.kind == "post" and not s.closed and not s.batch]
        if len(posts) == 1 and (self.get_stream is None or self.get_stream.closed or f.kind is Kind.REQUEST):
            return posts[0]
        if self.get_stream is None or self.get_stream.closed:
            pending = [p for p in self.relay.session.pending_from(Direction.C2S)]
            for p in reversed(pending):
                ex = self._open(exchange_of(p.frame.transport))
                if ex is not None and not ex.batch:
                    return ex
        return None

    def _fallback(self) -> Exchange | None:
        return self.get_stream if self.get_stream is not None and not self.get_stream.closed else None

    def _next_id(self, stream_id: str, data: bytes) -> str:
        n = self._seq.get(stream_id, 0) + 1
        self._seq[stream_id] = n
        self.replay.append((stream_id, n, data))
        return f"{stream_id}_{n}"

    def new_stream(self, ex: Exchange) -> None:
        # A stateless (2026-07-28) exchange ends with its answer: its events get no ids, so
        # nothing invites a Last-Event-ID resumption that no session could serve.
        if self.emulated and self.id is not None:
            ex.stream_id = secrets.token_hex(6)
            self.by_stream[ex.stream_id] = ex
            if len(self.by_stream) > REPLAY_EVENTS:
                self.by_stream.pop(next(iter(self.by_stream)))

    def priming_id(self, ex: Exchange) -> str | None:
        version = self.relay.session.protocol_version or ""
        # Clients before 2025-11-25 do not expect an event without data.
        if not self.emulated or ex.stream_id is None or version < "2025-11-25":
            return None
        return f"{ex.stream_id}_{self._seq.get(ex.stream_id, 0)}"

    def flush_orphans(self, ex: Exchange) -> None:
        while self.orphans:
            item = self.orphans.popleft()
            event_id = item.event_id
            if self.emulated and ex.stream_id is not None:
                event_id = self._next_id(ex.stream_id, item.data)
            ex.deliver(Outgoing(item.data, item.frames), event_id)

    def resume(self, last_event_id: str, ex: Exchange) -> bool:
        """Emulated resumption: replay a stream's events after ``last_event_id`` into ``ex``."""
        stream_id, _, seq_text = last_event_id.rpartition("_")
        if not stream_id or not seq_text.isdigit() or stream_id not in self.by_stream:
            return False
        seq = int(seq_text)
        old = self.by_stream[stream_id]
        ex.stream_id = stream_id
        ex.kind = old.kind
        ex.expect = set(old.expect)
        for sid, n, data in list(self.replay):
            if sid == stream_id and n > seq:
                ex.items.put_nowait(Item("message", data, f"{sid}_{n}"))
        self.resumed[stream_id] = ex
        if old is self.get_stream:
            self.get_stream = ex
        return True

    async def close(self) -> int:
        for ex in list(self.streams):
            ex.end()
            ex.close()
        try:
            return await self.backend.close()
        except Exception:
            log.exception("closing a session's back end failed")
            return 204


# --- the ASGI app ----------------------------------------------------------------------------


class Gateway:
    """The ASGI application behind ``mcpwall proxy``."""

    def __init__(self, app: App, settings: HttpSettings, make_backend: BackendFactory | None, upstream: str,
                 host: str, port: int, *, tls: bool = False, named: Mapping[str, Target] | None = None) -> None:
        self.app = app
        self.settings = settings
        self.upstream = upstream
        # The root endpoints' target (absent when only /servers/<name>/... are served) and the
        # named upstreams.
        self.root: Target | None = Target("", upstream, make_backend) if make_backend is not None else None
        self.named: dict[str, Target] = dict(named or {})
        self.sessions: dict[str, FrontSession] = {}
        self.legacy: dict[str, MessageSession] = {}
        self.websockets: set[Any] = set()
        self.open_streams = 0
        self.draining = False
        self._reaper: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[int]] = set()
        scheme = "https" if tls else "http"
        hosts = {host.lower(), "localhost", "127.0.0.1", "[::1]"}
        if ":" in host and not host.startswith("["):
            hosts.add(f"[{host.lower()}]")
        self.allowed_hosts: set[str] = set()
        self.any_port_hosts: set[str] = set()
        for h in hosts:
            self.allowed_hosts.add(f"{h}:{port}")
            if port == (443 if tls else 80):
                self.allowed_hosts.add(h)
        for extra in settings.allowed_hosts:
            e = extra.strip().lower()
            if ":" in e.rsplit("]", 1)[-1]:
                self.allowed_hosts.add(e)
            else:
                self.any_port_hosts.add(e)
        self.allowed_origins = {f"{s}://{h}" for h in self.allowed_hosts for s in (scheme,)}
        self.allowed_origins |= {o.strip().lower().rstrip("/") for o in settings.allowed_origins}

    @property
    def tools(self) -> dict[str, Any]:
        return self.root.tools if self.root is not None else {}

    @tools.setter
    def tools(self, value: dict[str, Any]) -> None:
        if self.root is not None:
            self.root.tools = value

    def root_target(self) -> Target:
        if self.root is None:
            raise Refused(404, "not found")
        return self.root

    def route(self, path: str) -> tuple[Target, str]:
        """The target a path leads to, and the rest of the path after its prefix."""
        if path.startswith("/servers/"):
            name, sep, rest = path[len("/servers/"):].partition("/")
            target = self.named.get(name)
            if target is None or not sep:
                raise Refused(404, "not found")
            return target, "/" + rest
        return self.root_target(), path

    async def message_session(self, target: Target, owner: str, peer: Any) -> MessageSession:
        """A new session for a message front: the target's back end, as a message back end."""
        from .emulator import StreamableClient

        backend: Any = await target.make(False, owner)
        if not getattr(backend, "emulated", False):
            backend = StreamableClient(backend)
        relay = self.app.relay(upstream=target.label, client=peer, server=backend)
        backend.relay = relay
        try:
            await backend.start()
        except Exception:
            await backend.close()
            raise
        return MessageSession(owner, backend, relay, peer)

    # --- ASGI entry ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_headers}
        if kind == "websocket":
            await self._websocket(scope, receive, send, headers)
            return
        if kind != "http":
            return
        try:
            target, rest = self.route(scope["path"])
            self._check_origin(headers)
            if self.draining:
                raise Refused(503, "mcpwall is shutting down", headers=[(b"retry-after", b"1")])
            method = scope["method"]
            if rest == self.settings.sse_path or rest == self.settings.messages_path:
                await self._legacy(target, rest, scope, receive, send, headers)
                return
            if rest != self.settings.path:
                raise Refused(404, "not found")
            if method == "POST":
                await self._post(scope, receive, send, headers, raw_headers, target)
            elif method == "GET":
                await self._get(receive, send, headers, target)
            elif method == "DELETE":
                await self._delete(send, headers, target)
            else:
                raise Refused(405, f"method {method} not allowed", headers=[(b"allow", b"GET, POST, DELETE")])
        except Refused as r:
            await _answer(send, r.status, encode(error_message(r.msg_id, r.code, str(r))), r.headers)
        except Disconnected:
            pass

    async def _legacy(self, target: Target, rest: str, scope: Scope, receive: Receive, send: Send,
                      headers: dict[str, str]) -> None:
        from . import legacy

        method = scope["method"]
        prefix = f"/servers/{target.name}" if target.name and target is not self.root else ""
        if rest == self.settings.sse_path:
            if method != "GET":
                raise Refused(405, f"method {method} not allowed", headers=[(b"allow", b"GET")])
            try:
                await legacy.serve_stream(self, prefix, target, receive, send, headers)
            except (Refused, Disconnected):
                raise
            except Exception as e:
                log.error("cannot open a legacy SSE session: %s", e)
                raise Refused(502, f"cannot reach the MCP server: {e}", -32000) from None
            return
        if method != "POST":
            raise Refused(405, f"method {method} not allowed", headers=[(b"allow", b"POST")])
        await legacy.serve_post(self, scope, receive, send, headers)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        from .websocket import serve_websocket

        try:
            target, rest = self.route(scope["path"])
            if rest not in (self.settings.path, self.settings.ws_path):
                raise Refused(404, "not found")
            self._check_origin(headers)
        except Refused as r:
            await receive()
            # Before the handshake completes, a close is an HTTP 403 for the client.
            await send({"type": "websocket.close", "code": 1008, "reason": str(r)[:120]})
            return
        await serve_websocket(self, target, scope, receive, send, headers)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                self._reaper = asyncio.create_task(self._reap())
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- checks -----------------------------------------------------------------------------

    def _check_origin(self, headers: Mapping[str, str]) -> None:
        host = headers.get("host", "").strip().lower()
        ok = host in self.allowed_hosts or (host.rsplit(":", 1)[0] if not host.endswith("]") else host) \
            in self.any_port_hosts
        if not ok:
            raise Refused(403, "Host header not allowed (DNS rebinding protection); "
                               "add it to http.allowed_hosts if it is legitimate")
        origin = headers.get("origin")
        if origin is not None and origin.strip().lower().rstrip("/") not in self.allowed_origins:
            raise Refused(403, "Origin not allowed (DNS rebinding protection); "
                               "add it to http.allowed_origins if it is legitimate")

    @staticmethod
    def owner_of(headers: Mapping[str, str]) -> str:
        """Who a session belongs to: a digest of the caller's credentials (none: anonymous)."""
        cred = headers.get("authorization", "")
        return hashlib.sha256(cred.encode("latin-1")).hexdigest() if cred else "anonymous"

    def _session(self, headers: Mapping[str, str], target: Target | None = None) -> FrontSession:
        sid = headers.get("mcp-session-id")
        if sid is None:
            raise Refused(400, "Bad Request: Mcp-Session-Id header is required")
        session = self.sessions.get(sid)
        # Another caller presenting this id learns nothing: the same 404 as for an unknown id.
        if session is None or session.owner != self.owner_of(headers) or (
                target is not None and session.target is not target):
            raise Refused(404, "Session not found")
        if session.backend.stale:
            self.sessions.pop(sid, None)
            task = asyncio.create_task(session.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            raise Refused(404, "Session not found (the server ended it)")
        session.last_seen = time.monotonic()
        return session

    def _stream_slot(self, session: FrontSession) -> None:
        if self.open_streams >= self.settings.max_streams:
            raise Refused(503, "too many open streams", headers=[(b"retry-after", b"1")])
        if len(session.streams) >= self.settings.max_streams_per_session:
            raise Refused(429, "too many open streams in this session", headers=[(b"retry-after", b"1")])

    async def _read_body(self, receive: Receive, headers: Mapping[str, str]) -> bytes:
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise Refused(413, f"request body over {limit} bytes (http.max_body_bytes)", headers=CLOSE)
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.settings.body_timeout):
                while True:
                    msg = await receive()
                    if msg["type"] == "http.disconnect":
                        raise Disconnected()
                    chunk = msg.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise Refused(413, f"request body over {limit} bytes (http.max_body_bytes)", headers=CLOSE)
                    chunks.append(chunk)
                    if not msg.get("more_body", False):
                        break
        except TimeoutError:
            raise Refused(408, f"request body not received within {self.settings.body_timeout} s",
                          headers=CLOSE) from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # --- POST ---------------------------------------------------------------------------------

    async def _post(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str],
                    raw_headers: list[tuple[bytes, bytes]], target: Target | None = None) -> None:
        target = target if target is not None else self.root_target()
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise Refused(415, "Unsupported Media Type: Content-Type must be application/json")
        body = await self._read_body(receive, headers)
        pre: Any = None
        try:
            pre = msgspec.json.decode(body)
        except (msgspec.DecodeError, RecursionError):
            with contextlib.suppress(ValueError, RecursionError):
                pre = json.loads(body)  # integers beyond 64 bits; strictness is the relay's job
        items = pre if isinstance(pre, list) else [pre] if isinstance(pre, dict) else []
        expect: set[IdKey] = {id_key(i["id"]) for i in items
                              if isinstance(i, dict) and "method" in i and _valid_id(i.get("id"))}
        version = headers.get("mcp-protocol-version")
        body_version = _meta_version(pre)
        if (isinstance(body_version, str) and body_version in STATELESS_VERSIONS) or (
                version in STATELESS_VERSIONS and "mcp-session-id" not in headers):
            await self._post_stateless(receive, send, headers, raw_headers, body, pre, expect, target)
            return
        if version is not None and version not in KNOWN_VERSIONS:
            raise Refused(400, f"Bad Request: unsupported MCP-Protocol-Version {version!r}; "
                               f"supported: {', '.join(KNOWN_VERSIONS)}")
        owner = self.owner_of(headers)
        is_init = isinstance(pre, dict) and pre.get("method") == "initialize" and "id" in pre
        new = False
        if "mcp-session-id" not in headers and is_init:
            if len(self.sessions) >= self.settings.max_sessions:
                raise Refused(503, "too many sessions (http.max_sessions)", headers=[(b"retry-after", b"5")])
            session = await self._new_session(owner, target=target)
            new = True
        else:
            session = self._session(headers, target)
        self._stream_slot(session)
        ex = Exchange("post", expect, batch=isinstance(pre, list), session=session)
        session.new_stream(ex)
        await self._relay_in(session, ex, body, headers)
        extra: list[tuple[bytes, bytes]] = []
        if new:
            head = ex.head
            if head is not None and head.status != 200:
                await self._drop(session)
            else:
                assert session.id is not None
                self.sessions[session.id] = session
                extra.append((b"mcp-session-id", session.id.encode("ascii")))
        await self._respond(session, ex, receive, send, headers, extra)

    async def _new_session(self, owner: str, *, stateless: bool = False, target: Target | None = None) -> FrontSession:
        target = target if target is not None else self.root_target()
        backend = await target.make(stateless, owner)
        relay = self.app.relay(upstream=target.label)
        sid = None if stateless else secrets.token_urlsafe(24)
        session = FrontSession(self, sid, owner, backend, relay, target)
        relay.client = session
        relay.server = backend
        backend.relay = relay
        start = getattr(backend, "start", None)
        if start is not None:
            try:
                await start()
            except Exception as e:
                log.error("cannot start the MCP server: %s", e)
                raise Refused(502, f"cannot start the MCP server: {e}", -32000) from None
        if sid is not None:
            relay.session.id = sid[:16]
        return session

    async def _drop(self, session: FrontSession) -> None:
        if session.id is not None:
            self.sessions.pop(session.id, None)
        await session.close()

    async def _relay_in(self, session: FrontSession, ex: Exchange, body: bytes, headers: dict[str, str]) -> None:
        token = _current.set(ex)
        try:
            await session.relay.from_client(body, {"exchange": ex, "headers": headers, "raw": body})
        except ConnectionResetError:
            raise Refused(404 if session.backend.stale else 502, "the MCP server is gone", -32000) from None
        finally:
            _current.reset(token)

    async def _post_stateless(self, receive: Receive, send: Send, headers: dict[str, str],
                              raw_headers: list[tuple[bytes, bytes]], body: bytes, pre: Any,
                              expect: set[IdKey], target: Target) -> None:
        seen: set[bytes] = set()
        for k, _ in raw_headers:
            if k in (b"mcp-protocol-version", b"mcp-method", b"mcp-name") or k.startswith(b"mcp-param-"):
                if k in seen:
                    raise Refused(400, f"{k.decode()} header appears more than once", HEADER_MISMATCH,
                                  pre.get("id") if isinstance(pre, dict) else None)
                seen.add(k)
        session = await self._new_session(self.owner_of(headers), stateless=True, target=target)
        try:
            session.relay.session.protocol_version = _meta_version(pre) if isinstance(_meta_version(pre), str) \
                else headers.get("mcp-protocol-version")
            if isinstance(pre, dict) and isinstance(pre.get("method"), str):
                schema = None
                if pre.get("method") == "tools/call":
                    params = pre.get("params")
                    name = params.get("name") if isinstance(params, dict) else None
                    tool = target.tools.get(name) if isinstance(name, str) else None
                    schema = tool.get("inputSchema") if isinstance(tool, dict) else None
                why = mirror.mismatch(pre, headers, schema)
                if why is not None:
                    relay = session.relay
                    relay.audit.record(AuditRecord(
                        direction="c2s", action="invalid", enforced=True, raw=body, obj=pre, reason=why,
                        inspector="http", session=relay.session.id, upstream=relay.session.upstream,
                        identity=relay.session.identity.subject, method=pre.get("method"),
                    ))
                    msg_id = pre.get("id") if _valid_id(pre.get("id")) else None
                    raise Refused(400, why, HEADER_MISMATCH, msg_id)
            self._stream_slot(session)
            ex = Exchange("post", expect, batch=isinstance(pre, list), session=session)
            session.new_stream(ex)
            await self._relay_in(session, ex, body, headers)
            await self._respond(session, ex, receive, send, headers, [], stateless=True)
        finally:
            await session.close()

    async def _respond(self, session: FrontSession, ex: Exchange, receive: Receive, send: Send,
                       headers: Mapping[str, str], extra: list[tuple[bytes, bytes]], *,
                       stateless: bool = False) -> None:
        head = ex.head
        try:
            if head is not None and head.kind == "status":
                ctype = [(b"content-type", head.content_type.encode())] if head.content_type else []
                await _answer(send, head.status, head.body, [*ctype, *extra], content_type=None)
                return
            if not ex.expect and ex.items.empty() and (head is None or head.kind in ("accepted", "json")):
                await _answer(send, 202, b"", extra, content_type=None)
                return
            if not ex.expect and not ex.items.empty() and head is None:
                # Only mcpwall's own answers (bad input, refused batch, blocked messages).
                await self._json(session, ex, receive, send, extra, local=True, stateless=stateless)
                return
            wants_sse = "text/event-stream" in headers.get("accept", "")
            if ex.batch or (head is None and (not wants_sse or ex.answered)) or (head is not None and head.kind == "json"):
                await self._json(session, ex, receive, send, extra, local=head is None, stateless=stateless)
                return
            await self._stream(session, ex, receive, send, extra, until_answered=head is None,
                               prime=head is None)
        finally:
            ex.close()

    async def _json(self, session: FrontSession, ex: Exchange, receive: Receive, send: Send,
                    extra: list[tuple[bytes, bytes]], *, local: bool, stateless: bool) -> None:
        replies: list[Frame] = []
        others: list[Item] = []
        # Most JSON answers are complete by now: watch for a disconnect only when waiting.
        watcher = None if ex.answered else asyncio.create_task(_watch_disconnect(receive, ex))
        try:
            while True:
                if ex.answered and ex.items.empty():
                    break
                item = ex.items.get_nowait() if not ex.items.empty() else await ex.items.get()
                if item.kind == "end":
                    if ex.closed:
                        return
                    # Answered: drain what is queued. A batch's elements end one by one: wait for
                    # every answer. A single answer that ended unanswered is over.
                    if ex.answered or ex.batch:
                        continue
                    break
                if item.kind != "message":
                    continue
                got = [f for f in item.frames if f.is_reply]
                replies.extend(got)
                if len(got) < len(item.frames):
                    others.append(item)
                if ex.closed:
                    return
        finally:
            if watcher is not None:
                watcher.cancel()
        # Server messages that arrived on a JSON answer go to the GET stream, not lost.
        for item in others:
            for f in item.frames:
                if not f.is_reply:
                    session.orphans.append(Item("message", f.raw, None, [f]))
        if not replies:
            await _answer(send, 202 if not ex.expect else 502, b"", extra, content_type=None)
            return
        data = b"[" + b",".join(f.raw for f in replies) + b"]" if ex.batch else replies[-1].raw
        status = 200
        if len(replies) == 1 or all(f.kind is Kind.ERROR for f in replies):
            codes = {_code(f) for f in replies}
            if (local or stateless) and codes and codes <= BAD_REQUEST_CODES:
                status = 400
            elif stateless and codes == {-32601}:
                status = 404
        await _answer(send, status, data, extra)

    async def _stream(self, session: FrontSession, ex: Exchange, receive: Receive, send: Send,
                      extra: list[tuple[bytes, bytes]], *, until_answered: bool,
                      prime: bool = False) -> None:
        self.open_streams += 1
        session.streams.add(ex)
        watcher = asyncio.create_task(_watch_disconnect(receive, ex))
        keepalive = self.settings.sse_keepalive
        idle = 0.0
        try:
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", SSE_TYPE), (b"cache-control", b"no-cache, no-transform"),
                (b"x-accel-buffering", b"no"), *extra]})
            if prime and (pid := session.priming_id(ex)) is not None:
                await _body(send, encode_event(b"", event_id=pid, retry=RETRY_MS))
            while not ex.closed:
                if until_answered and ex.answered and ex.items.empty():
                    break
                try:
                    item = await asyncio.wait_for(ex.items.get(), keepalive)
                except TimeoutError:
                    idle += keepalive
                    if idle >= self.settings.sse_idle_timeout:
                        break
                    await _body(send, comment(b" keepalive"))
                    continue
                idle = 0.0
                if item.kind == "end":
                    break
                if item.kind == "event":
                    await _body(send, item.data)
                else:
                    await _body(send, encode_event(item.data, event_id=item.event_id))
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass
        finally:
            watcher.cancel()
            ex.close()
            session.streams.discard(ex)
            self.open_streams -= 1

    # --- GET and DELETE ---------------------------------------------------------------------

    async def _get(self, receive: Receive, send: Send, headers: dict[str, str], target: Target | None = None) -> None:
        if headers.get("mcp-protocol-version") in STATELESS_VERSIONS and "mcp-session-id" not in headers:
            raise Refused(405, "no GET stream in protocol 2026-07-28", headers=[(b"allow", b"POST")])
        session = self._session(headers, target)
        if "text/event-stream" not in headers.get("accept", ""):
            raise Refused(406, "Not Acceptable: the GET stream needs Accept: text/event-stream")
        self._stream_slot(session)
        last = headers.get("last-event-id")
        ex = Exchange("get", session=session)
        if session.emulated:
            if last is not None and session.resume(last, ex):
                pass
            else:
                if session.get_stream is not None and not session.get_stream.closed:
                    raise Refused(409, "Conflict: only one GET stream per session")
                session.new_stream(ex)
                session.get_stream = ex
                session.flush_orphans(ex)
            await self._stream(session, ex, receive, send, [], until_answered=ex.kind == "post",
                               prime=last is None)
            return
        await session.backend.open_stream(ex, last)
        head = ex.head
        if head is None or head.kind != "sse":
            ex.close()
            status = head.status if head is not None else 502
            body = head.body if head is not None else b""
            ctype = [(b"content-type", head.content_type.encode())] if head is not None and head.content_type else []
            await _answer(send, status, body, ctype, content_type=None)
            return
        if last is None or session.get_stream is None or session.get_stream.closed:
            # A resumed stream also carries whatever the server sends later.
            session.get_stream = ex
            session.flush_orphans(ex)
        await self._stream(session, ex, receive, send, [], until_answered=False)

    async def _delete(self, send: Send, headers: dict[str, str], target: Target | None = None) -> None:
        session = self._session(headers, target)
        status = await session.close()
        if status == 405:
            await _answer(send, 405, b"", [(b"allow", b"GET, POST")], content_type=None)
            return
        if session.id is not None:
            self.sessions.pop(session.id, None)
        await _answer(send, 200 if status < 300 else status, b"", [], content_type=None)

    # --- lifecycle ------------------------------------------------------------------------------

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.settings.session_idle_timeout / 4))
            cutoff = time.monotonic() - self.settings.session_idle_timeout
            for sid, s in list(self.sessions.items()):
                if (s.last_seen < cutoff and not s.streams) or s.backend.stale:
                    self.sessions.pop(sid, None)
                    await s.close()

    def start_drain(self) -> None:
        """Stop taking new work; end GET streams now (clients reconnect), let requests finish."""
        if self.draining:
            return
        self.draining = True
        for s in self.sessions.values():
            if s.get_stream is not None:
                s.get_stream.end()
        # Legacy SSE and WebSocket sessions cannot be resumed elsewhere: they end now.
        for m in self.legacy.values():
            close = getattr(m.peer, "close", None)
            if close is not None and not asyncio.iscoroutinefunction(close):
                close()
        for ws in list(self.websockets):
            task = asyncio.ensure_future(ws.close(1001, "mcpwall is shutting down"))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def shutdown(self) -> None:
        self.start_drain()
        if self._reaper is not None:
            self._reaper.cancel()
        sessions, self.sessions = list(self.sessions.values()), {}
        legacy, self.legacy = list(self.legacy.values()), {}
        await asyncio.gather(*(s.close() for s in sessions), *(m.close() for m in legacy), return_exceptions=True)


def _code(f: Frame) -> int | None:
    err = f.obj.get("error")
    code = err.get("code") if isinstance(err, dict) else None
    return code if isinstance(code, int) else None


async def _watch_disconnect(receive: Receive, ex: Exchange) -> None:
    """Close the exchange (and with it the upstream stream) when the client goes away."""
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            ex.close()
            ex.items.put_nowait(END)
            return


async def _body(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None,
                  content_type: bytes | None = JSON) -> None:
    h = list(headers or [])
    if content_type is not None and body:
        h.append((b"content-type", content_type))
    h.append((b"content-length", str(len(body)).encode()))
    with contextlib.suppress(OSError, RuntimeError):
        await send({"type": "http.response.start", "status": status, "headers": h})
        await send({"type": "http.response.body", "body": body})


# --- uvicorn: header timeout and drain -------------------------------------------------------


def guarded(base: type[Any], header_timeout: float) -> type[Any]:
    """A uvicorn protocol class that answers 408 when request headers take too long."""

    class Guarded(base):  # type: ignore[misc]
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._expired)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _expired(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
                return
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
                                 b"content-length: 22\r\nconnection: close\r\n\r\nrequest headers timeout")
            self.transport.close()

    Guarded.__name__ = f"Guarded{base.__name__}"
    return Guarded


def _protocol_class(header_timeout: float) -> type[Any]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools missing: the h11 protocol has no message-begin hook
        from uvicorn.protocols.http.h11_impl import H11Protocol
        return H11Protocol
    return guarded(HttpToolsProtocol, header_timeout)


class _Server(uvicorn.Server):
    """uvicorn's server with mcpwall's drain on SIGTERM/SIGINT, and no signal re-raised after."""

    def __init__(self, config: uvicorn.Config, gateway: Gateway) -> None:
        super().__init__(config)
        self.gateway = gateway
        self.loop: asyncio.AbstractEventLoop | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        sigs = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
        originals = {s: signal.signal(s, self.handle_exit) for s in sigs}
        try:
            yield
        finally:
            for s, h in originals.items():
                signal.signal(s, h)

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.gateway.start_drain)
        super().handle_exit(sig, frame)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--listen expects HOST:PORT, got {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(app: App, make_backend: BackendFactory | None, upstream: str,
                cleanup: Callable[[], Awaitable[None]] | None = None,
                tools: dict[str, Any] | None = None, named: Mapping[str, Target] | None = None) -> int:
    """Run the gateway until SIGTERM/SIGINT; returns the exit code."""
    hs = app.settings.http
    host, port = parse_listen(hs.listen)
    if not is_loopback(host) and not hs.allow_remote:
        raise ConfigError(f"refusing to listen on {host}: not a loopback address. Set http.allow_remote "
                          "(--allow-remote) to expose mcpwall, with TLS and authentication in front.")
    if (hs.tls_cert is None) != (hs.tls_key is None):
        raise ConfigError("TLS needs both --tls-cert and --tls-key")
    gateway = Gateway(app, hs, make_backend, upstream, host, port, tls=hs.tls_cert is not None, named=named)
    if tools is not None:
        gateway.tools = tools  # shared with the upstream client, for Mcp-Param-* headers
    config = uvicorn.Config(
        gateway, host=host, port=port, http=_protocol_class(hs.header_timeout), lifespan="on",
        log_level="warning", access_log=False, timeout_graceful_shutdown=int(max(1, hs.drain_timeout)),
        ssl_certfile=str(hs.tls_cert) if hs.tls_cert else None, ssl_keyfile=str(hs.tls_key) if hs.tls_key else None,
        server_header=False, date_header=False, proxy_headers=False, timeout_keep_alive=30, h11_max_incomplete_event_size=64 * 1024,
        ws="websockets-sansio", ws_max_size=hs.max_body_bytes, ws_ping_interval=20.0, ws_ping_timeout=20.0,
    )
    server = _Server(config, gateway)
    server.loop = asyncio.get_running_loop()
    log.info("mcpwall proxy listening on %s://%s:%d%s -> %s", "https" if hs.tls_cert else "http", host, port,
             hs.path, upstream)
    try:
        await server.serve()
    finally:
        await gateway.shutdown()
        if cleanup is not None:
            await cleanup()
        await app.close()
    return 0

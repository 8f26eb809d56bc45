"""What a client-facing HTTP front needs from whatever sits behind it.

A front (Streamable HTTP today; legacy SSE and WebSocket later) turns each HTTP exchange
into an :class:`Exchange`: the stream on which replies and server messages travel back to
one HTTP request of the client. A :class:`Backend` is the server side of one mcpwall
session: the HTTP upstream (:mod:`.upstream`) and a local stdio child (:mod:`.bridge`) both
implement it, so every front works with every back.

Back ends that carry plain messages (a stdio child, a legacy HTTP+SSE or a WebSocket
upstream, and a Streamable HTTP upstream behind :class:`~.emulator.StreamableClient`) derive
from :class:`MessageBackend`: the Streamable HTTP front emulates streams for them, and the
message fronts (stdio, legacy SSE, WebSocket) can use any of them directly.

The relay never sees HTTP. The front puts ``{"exchange": ex}`` into the transport details of
the frames it hands the relay; backends put the exchange a message arrived on (and its SSE
event id) into the frames they receive, and the front's router uses those to send each
outgoing message down the right HTTP stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..frame import IdKey, Kind
from ..relay import Outgoing, Relay


@dataclass(slots=True)
class Head:
    """How the back end answered an HTTP request: status and body shape.

    ``kind`` is ``json`` (the body holds the messages), ``sse`` (a stream follows),
    ``accepted`` (202, nothing follows) or ``status`` (an HTTP-level answer in ``body``
    that the front repeats, e.g. 404 for an expired upstream session).
    """

    status: int
    kind: str
    body: bytes = b""
    content_type: str = ""


@dataclass(slots=True)
class Item:
    """One thing to write on a client's stream.

    ``data`` is a JSON-RPC message (possibly a batch) for a ``message`` item; ``raw`` is an
    already-encoded SSE event (priming event, comment, retry) for an ``event`` item.
    """

    kind: str  # "message" | "event" | "end"
    data: bytes = b""
    event_id: str | None = None
    frames: list[Any] = field(default_factory=list)


END = Item("end")


class Exchange:
    """One response stream towards an HTTP client: the answer to a POST, or a GET stream."""

    __slots__ = ("_on_close", "batch", "closed", "ended", "expect", "head", "items", "kind", "last_event_id",
                 "retry", "session", "stream_id")

    def __init__(self, kind: str, expect: set[IdKey] | None = None, *, batch: bool = False,
                 session: Any = None) -> None:
        self.kind = kind  # "post" or "get"
        self.expect: set[IdKey] = expect or set()
        self.batch = batch
        self.session = session
        self.items: asyncio.Queue[Item] = asyncio.Queue()
        self.head: Head | None = None
        self.closed = False
        self.ended = False
        self.stream_id: str | None = None
        # Seen on an upstream SSE stream: where to resume it, and how long to wait first (ms).
        self.last_event_id: str | None = None
        self.retry: int | None = None
        self._on_close: list[Callable[[], None]] = []

    # --- producers ----------------------------------------------------------------------

    def deliver(self, out: Outgoing, event_id: str | None = None) -> bool:
        """Queue a message for the client. False when the stream is already gone."""
        if self.closed:
            return False
        for f in out.frames:
            if f.kind in (Kind.RESPONSE, Kind.ERROR) and f.id is not None:
                self.expect.discard((isinstance(f.id, str), f.id))
        self.items.put_nowait(Item("message", out.data, event_id, out.frames))
        return True

    def event(self, raw: bytes) -> None:
        if not self.closed:
            self.items.put_nowait(Item("event", raw))

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.items.put_nowait(END)

    @property
    def answered(self) -> bool:
        return not self.expect

    # --- the consumer side ----------------------------------------------------------------

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the client side goes away (or the front is done)."""
        if self.closed:
            callback()
        else:
            self._on_close.append(callback)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        callbacks, self._on_close = self._on_close, []
        for cb in callbacks:
            with contextlib.suppress(Exception):  # closing one upstream stream must not break the others
                cb()


class Backend(Protocol):
    """The server side of one mcpwall session (also the relay's ``server`` peer)."""

    relay: Relay | None

    async def send(self, out: Outgoing) -> None:
        """Deliver client messages; set ``head`` on the exchange in the frames' transport."""
        ...

    async def open_stream(self, ex: Exchange, last_event_id: str | None) -> None:
        """Open the server-to-client stream (GET), resuming after ``last_event_id``; sets ``ex.head``."""
        ...

    async def close(self) -> int:
        """End the session upstream (DELETE / stop the child). Returns an HTTP status to answer."""
        ...

    @property
    def stale(self) -> bool:
        """True once the upstream has forgotten this session (the front answers 404)."""
        ...


class Sink(Protocol):
    """Where a back end hands what the server said: the relay, or an aggregator's leg."""

    async def from_server(self, raw: bytes, transport: dict[str, Any] | None = None) -> None: ...

    async def upstream_lost(self, reason: str) -> None: ...


class MessageBackend:
    """A back end that carries whole messages both ways, with no HTTP exchange of its own.

    Subclasses implement :meth:`start`, :meth:`send` and :meth:`_shutdown`, hand incoming
    messages to ``self.relay.from_server`` and call :meth:`_lost` when the server goes away.
    """

    emulated = True

    def __init__(self) -> None:
        self.relay: Any = None  # a Relay, or any Sink
        self._stale = False
        self.done = asyncio.Event()

    @property
    def stale(self) -> bool:
        return self._stale

    async def start(self) -> None:
        raise NotImplementedError

    async def send(self, out: Outgoing) -> None:
        raise NotImplementedError

    async def _shutdown(self) -> None:
        raise NotImplementedError

    async def open_stream(self, ex: Exchange, last_event_id: str | None) -> None:
        ex.head = Head(200, "sse")  # the front emulates the stream

    async def _lost(self, reason: str) -> None:
        """The server side ended: fail what waits for it, once."""
        if self._stale:
            return
        self._stale = True
        self.done.set()
        if self.relay is not None:
            with contextlib.suppress(ConnectionResetError):
                await self.relay.upstream_lost(reason)

    async def close(self) -> int:
        self._stale = True
        self.done.set()
        with contextlib.suppress(Exception):
            await self._shutdown()
        return 204

    async def aclose(self) -> None:
        await self.close()


def exchange_of(transport: dict[str, Any] | None) -> Exchange | None:
    if not transport:
        return None
    ex = transport.get("exchange")
    return ex if isinstance(ex, Exchange) else None

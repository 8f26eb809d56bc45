"""The back end for a local stdio MCP server behind an HTTP front (``mcpwall proxy -- CMD``).

Choice: **one child process per mcpwall session.** A stdio server speaks to exactly one
client: it is initialised once, keeps per-connection state (subscriptions, log level,
roots) and numbers its own requests. Sharing one child between HTTP sessions would need
mcpwall to rewrite ids in both directions and would mix the sessions' state, so each
session gets its own child, started on ``initialize`` and stopped on ``DELETE``, on idle
expiry and at shutdown.

Stateless (2026-07-28) requests carry everything with them (no initialize, capabilities per
request), so a child need not be started for each: :class:`ChildPool` keeps finished
children of the same caller (identity) and lends them out again, one request at a time, so
that everything a child says belongs to the one request it serves. Starting a Python or
Node server costs a few hundred milliseconds; lending a warm one costs nothing. A child is
only lent again if its request was answered (nothing of it can arrive later), and never
across callers.

stdio has no streams, so the front emulates them (see :mod:`.http`): replies go to the
stream of their request, progress goes to the stream of the request that owns the token,
other server messages to the request stream that is open or to the GET stream; event ids
and a bounded replay log give ``Last-Event-ID`` resumption.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence

from ..config import ChildSettings
from ..frame import Direction
from ..relay import Outgoing
from .backend import MessageBackend
from .stdio import Child, LineReader, pump

log = logging.getLogger(__name__)


class StdioChild(MessageBackend):
    """The server side of one mcpwall session: a child process spoken to over stdio."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], child: ChildSettings, max_bytes: int) -> None:
        super().__init__()
        self.argv = list(argv)
        self.env = dict(env)
        self.settings = child
        self.max_bytes = max_bytes
        self.child: Child | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self.child = await Child.spawn(self.argv, self.env)
        self._reader = asyncio.create_task(self._read(), name="bridge-stdout")

    async def _read(self) -> None:
        child = self.child
        assert child is not None
        why = await pump(LineReader(child.stdout.read, self.max_bytes), self._from_server, self._oversized)
        exited = await child._wait(self.settings.stdin_close_grace)
        reason = f"the server exited with code {child.exit_code()}" if exited else f"the server's output ended ({why})"
        await self._lost(reason)

    async def _from_server(self, raw: bytes) -> None:
        relay = self.relay  # a pooled child serves one relay after another
        if relay is None:
            log.info("dropped a message from an idle MCP server: %.200r", raw)
            return
        await relay.from_server(raw)

    async def _oversized(self, size: int, head: bytes) -> None:
        oversized = getattr(self.relay, "oversized", None)
        if oversized is not None:
            await oversized(Direction.S2C, size, head)

    async def send(self, out: Outgoing) -> None:
        if self.child is None or self._stale:
            raise ConnectionResetError("the MCP server is not running")
        # One line per message, even for a batch: stdio servers need not parse arrays.
        data = b"".join(f.raw + b"\n" for f in out.frames) if len(out.frames) > 1 else out.data + b"\n"
        async with self._lock:
            await self.child.stdin.write(data)

    async def _shutdown(self) -> None:
        if self.child is not None:
            await self.child.stop(self.settings.stdin_close_grace, self.settings.term_grace)
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader), self.settings.term_grace)
            self._reader.cancel()


class ChildPool:
    """Warm children for stateless requests, kept per caller and lent one request at a time."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], child: ChildSettings, max_bytes: int, *,
                 idle_per_owner: int = 2, idle_total: int = 8, idle_seconds: float = 300.0) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.settings = child
        self.max_bytes = max_bytes
        self.idle_per_owner = idle_per_owner
        self.idle_total = idle_total
        self.idle_seconds = idle_seconds
        self._idle: dict[str, list[tuple[float, StdioChild]]] = {}
        self.started = 0  # children spawned, for tests and logs
        self._closed = False

    def lease(self, owner: str) -> PooledChild:
        return PooledChild(self, owner)

    async def take(self, owner: str) -> StdioChild:
        now = time.monotonic()
        idle = self._idle.get(owner, [])
        while idle:
            since, child = idle.pop()
            if not child.stale and now - since < self.idle_seconds:
                return child
            await child.close()
        child = StdioChild(self.argv, self.env, self.settings, self.max_bytes)
        await child.start()
        self.started += 1
        return child

    async def give(self, owner: str, child: StdioChild, reusable: bool) -> None:
        child.relay = None
        if not reusable or child.stale or self._closed or len(self._idle.get(owner, ())) >= self.idle_per_owner:
            await child.close()
            return
        self._idle.setdefault(owner, []).append((time.monotonic(), child))
        while sum(len(v) for v in self._idle.values()) > self.idle_total:  # the longest idle goes first
            who = min((k for k, v in self._idle.items() if v), key=lambda k: self._idle[k][0][0])
            _, oldest = self._idle[who].pop(0)
            await oldest.close()

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for entries in idle.values():
            for _, child in entries:
                await child.close()


class PooledChild(MessageBackend):
    """One stateless request's back end: a child borrowed from a :class:`ChildPool`."""

    def __init__(self, pool: ChildPool, owner: str) -> None:
        super().__init__()
        self.pool = pool
        self.owner = owner
        self.inner: StdioChild | None = None

    @property
    def stale(self) -> bool:
        return self._stale or (self.inner is not None and self.inner.stale)

    async def start(self) -> None:
        self.inner = await self.pool.take(self.owner)
        self.inner.relay = self.relay

    async def send(self, out: Outgoing) -> None:
        if self.inner is None or self.stale:
            raise ConnectionResetError("the MCP server is not running")
        await self.inner.send(out)

    async def _shutdown(self) -> None:
        inner, self.inner = self.inner, None
        if inner is None:
            return
        relay = self.relay
        # Reusable only when no request of this lease is still waiting for the server:
        # otherwise its late answer would reach the next borrower.
        answered = relay is None or not relay.session.pending_from(Direction.C2S)
        await self.pool.give(self.owner, inner, answered)

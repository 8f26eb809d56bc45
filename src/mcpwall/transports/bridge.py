"""The back end for a local stdio MCP server behind an HTTP front (``mcpwall proxy -- CMD``).

Choice: **one child process per mcpwall session.** A stdio server speaks to exactly one
client: it is initialised once, keeps per-connection state (subscriptions, log level,
roots) and numbers its own requests. Sharing one child between HTTP sessions would need
mcpwall to rewrite ids in both directions and would mix the sessions' state, so each
session gets its own child, started on ``initialize`` and stopped on ``DELETE``, on idle
expiry and at shutdown. Stateless (2026-07-28) requests get a fresh child each.

stdio has no streams, so the front emulates them (see :mod:`.http`): replies go to the
stream of their request, progress goes to the stream of the request that owns the token,
other server messages to the request stream that is open or to the GET stream; event ids
and a bounded replay log give ``Last-Event-ID`` resumption.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
        child, relay = self.child, self.relay
        assert child is not None and relay is not None
        why = await pump(LineReader(child.stdout.read, self.max_bytes), relay.from_server, self._oversized)
        exited = await child._wait(self.settings.stdin_close_grace)
        reason = f"the server exited with code {child.exit_code()}" if exited else f"the server's output ended ({why})"
        await self._lost(reason)

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

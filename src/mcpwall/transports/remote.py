"""``mcpwall wrap --upstream URL``: a stdio client reaches a remote server.

The stdio front is the same as for a local child (our stdin/stdout, newline framing with a
size limit); the back end is any message back end from :mod:`.connect`: Streamable HTTP
(through :class:`~.emulator.StreamableClient`, which keeps the session id, opens and
resumes the GET stream and resumes response streams with ``Last-Event-ID``), legacy
HTTP+SSE or WebSocket. mcpwall exits when the client closes its stdin, when it is
signalled, or when the server ends the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from ..app import App
from ..frame import Direction
from .connect import Upstream
from .stdio import POSIX, LinePeer, LineReader, own_stdin, own_stdout, pump

log = logging.getLogger(__name__)


async def wrap_remote(app: App, upstream: Upstream) -> int:
    """Relay our stdio to ``upstream``. Returns the exit code (0, or 1 when the server went away)."""
    settings = app.settings
    client_sink = await own_stdout()
    backend = await upstream.make_message()
    relay = app.relay(upstream=upstream.label, client=LinePeer(client_sink), server=backend)
    backend.relay = relay
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled: list[signal.Signals] = []
    if POSIX:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        loop.add_signal_handler(signal.SIGHUP, app.reload)
        handled.append(signal.SIGHUP)
    interval = settings.policy.watch_seconds
    watcher = (asyncio.create_task(app.watch(interval), name="policy-watch")
               if app.loader is not None and interval > 0 else None)
    code = 0
    tasks: list[asyncio.Task[Any]] = []
    try:
        await backend.start()
        read_stdin = await own_stdin()
        c2s = asyncio.create_task(pump(
            LineReader(read_stdin, settings.limits.max_message_bytes), relay.from_client,
            lambda size, head: relay.oversized(Direction.C2S, size, head)), name="c2s")
        gone = asyncio.create_task(backend.done.wait(), name="upstream-done")
        stopper = asyncio.create_task(stop.wait(), name="signal")
        tasks = [c2s, gone, stopper]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if gone in done and c2s not in done:
            log.warning("the MCP server ended the session")
            code = 1
        elif c2s in done:
            # The client closed its input: give answers still on their way a bounded time.
            deadline = loop.time() + settings.child.term_grace
            while relay.session.pending_from(Direction.C2S) and not backend.stale and loop.time() < deadline:
                await asyncio.sleep(0.05)
    finally:
        for task in [*tasks, *([watcher] if watcher is not None else [])]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in handled:
            loop.remove_signal_handler(sig)
        with contextlib.suppress(Exception):
            await backend.close()
        await upstream.close()
        client_sink.close()
        await app.close()
    return code

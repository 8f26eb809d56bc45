"""stdio: newline-delimited JSON-RPC over our own stdin/stdout and over a child process.

Framing is our own, with an explicit size limit: asyncio's 64 KiB line limit breaks real
servers, and an unbounded buffer lets a peer exhaust memory. A line over the limit is
discarded as it streams in (only its head is kept, to answer its sender).

The child runs in its own process group with mcpwall's whole environment. Stopping it:
close its stdin, wait, SIGTERM the group, wait, SIGKILL, while its stdout keeps draining.
SIGINT and SIGTERM are forwarded to the child and stop mcpwall; SIGHUP is mcpwall's own:
it reloads the policy from the config file without dropping the session (a policy that
does not load is rejected and the running one kept). Policy files are also watched for
changes. No shell is ever used; POSIX-only calls stay behind a platform check.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import shutil
import signal
import stat
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from ..app import App
from ..errors import UpstreamError
from ..frame import Direction
from ..relay import Outgoing

log = logging.getLogger(__name__)

POSIX = os.name == "posix"
CHUNK = 256 * 1024
HEAD = 64 * 1024  # bytes kept of an oversized line, to find its id


@dataclass(slots=True)
class Oversized:
    size: int
    head: bytes


class LineReader:
    """Splits a byte stream into lines (without the ``\\n``), enforcing ``max_bytes``.

    ``before_read`` runs each time the reader has handed out every complete line it holds
    and is about to wait for more input: the moment to flush batched writes.
    """

    def __init__(self, read: Callable[[int], Awaitable[bytes]], max_bytes: int,
                 before_read: Callable[[], Awaitable[None]] | None = None) -> None:
        self._read = read
        self.max_bytes = max_bytes
        self.before_read = before_read

    async def __aiter__(self) -> AsyncIterator[bytes | Oversized]:
        buf = bytearray()
        skipping: Oversized | None = None  # inside a line that is already too long
        while True:
            if self.before_read is not None:
                await self.before_read()
            chunk = await self._read(CHUNK)
            if not chunk:
                break
            start = 0
            while True:
                nl = chunk.find(b"\n", start)
                if nl >= 0 and not buf and skipping is None and nl - start <= self.max_bytes:
                    # A whole line inside this chunk (the common case): one copy, no buffer.
                    line = chunk[start:nl]
                    if line.strip():
                        yield line
                    start = nl + 1
                    continue
                piece = chunk[start:] if nl < 0 else chunk[start:nl]
                if skipping is not None:
                    skipping.size += len(piece)
                elif len(buf) + len(piece) > self.max_bytes:
                    head = bytes(buf[:HEAD]) + piece[: max(0, HEAD - len(buf))]
                    skipping = Oversized(len(buf) + len(piece), head)
                    buf.clear()
                else:
                    buf.extend(piece)
                if nl < 0:
                    break
                if skipping is not None:
                    yield skipping
                    skipping = None
                else:
                    line = bytes(buf)
                    buf.clear()
                    if line.strip():
                        yield line
                start = nl + 1
        if skipping is not None:
            yield skipping
        elif buf.strip():
            yield bytes(buf)


class _Batch:
    """Writes held back while a pump works through the lines of one read.

    Several messages that arrived together leave together, in one system call per peer:
    with many requests in flight this saves more than all of mcpwall's parsing costs. The
    batch belongs to one pump task (a context variable); once flushed it is closed, so a
    task that outlives it writes straight through instead of waiting for the next flush.
    """

    __slots__ = ("items", "open", "size")

    def __init__(self) -> None:
        self.open = True
        self.items: dict[StreamSink, list[bytes]] = {}
        self.size = 0  # bytes held, all sinks together

    async def flush(self) -> None:
        self.open = False
        items, self.items = self.items, {}
        for sink, chunks in items.items():
            if chunks:
                await sink.write_now(chunks[0] if len(chunks) == 1 else b"".join(chunks))


_batch: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("mcpwall_write_batch", default=None)
BATCH_LIMIT = 1024 * 1024  # flush a batch early past this many bytes


class StreamSink:
    """Writes whole messages (one ``write`` each, so messages never interleave)."""

    def __init__(self, writer: asyncio.StreamWriter | None, raw_fd: int | None = None) -> None:
        self._writer = writer
        self._fd = raw_fd
        self.closed = False

    async def write(self, data: bytes, end: bytes = b"") -> None:
        """Write ``data`` followed by ``end`` (a delimiter, kept apart so ``data`` is not copied)."""
        batch = _batch.get()
        if batch is not None and batch.open and not self.closed:
            chunks = batch.items.get(self)
            if chunks is None:
                chunks = batch.items[self] = []
            chunks.append(data)
            if end:
                chunks.append(end)
            batch.size += len(data)
            if len(chunks) > 128 or batch.size > BATCH_LIMIT:
                await self.write_now(b"".join(chunks))
                chunks.clear()
                batch.size = sum(len(c) for cs in batch.items.values() for c in cs)
            return
        await self.write_now(data + end if end else data)

    async def write_now(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("peer closed")
        try:
            if self._writer is not None:
                self._writer.write(data)
                await self._writer.drain()
            elif self._fd is not None:
                view = memoryview(data)
                while view:
                    n = os.write(self._fd, view)
                    view = view[n:]
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.closed = True
            raise ConnectionResetError("peer closed") from None

    def close(self) -> None:
        self.closed = True
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()


# --- our own stdin / stdout ---------------------------------------------------------------


def _is_stream_fd(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


async def own_stdin() -> Callable[[int], Awaitable[bytes]]:
    """A ``read(n)`` for our stdin: a pipe transport when possible, else a reader thread."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    if POSIX and _is_stream_fd(fd):
        reader = asyncio.StreamReader(limit=CHUNK)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", 0, closefd=False))
        return reader.read
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    def pump() -> None:
        while True:
            try:
                data = os.read(fd, CHUNK)
            except OSError:
                data = b""
            loop.call_soon_threadsafe(queue.put_nowait, data)
            if not data:
                return

    threading.Thread(target=pump, name="mcpwall-stdin", daemon=True).start()

    async def read(_: int) -> bytes:
        return await queue.get()

    return read


async def own_stdout() -> StreamSink:
    loop = asyncio.get_running_loop()
    fd = sys.stdout.fileno()
    mode = os.fstat(fd).st_mode
    if POSIX and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(fd, "wb", 0, closefd=False)
        )
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
        return StreamSink(writer)
    # A terminal or a file: plain blocking writes (a non-blocking tty would also make
    # stderr non-blocking, which loses log lines).
    return StreamSink(None, raw_fd=fd)


# --- the child process ------------------------------------------------------------------


def resolve_command(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Find the program on PATH the way the platform does (``npx`` is ``npx.cmd`` on Windows)."""
    if not argv:
        raise UpstreamError("no command given to start the MCP server")
    prog = argv[0]
    found = shutil.which(prog, path=env.get("PATH"))
    if found is None:
        if os.path.sep in prog or (os.path.altsep and os.path.altsep in prog):
            raise UpstreamError(f"cannot run {prog!r}: no such executable file")
        raise UpstreamError(f"command {prog!r} not found on PATH")
    return [found, *argv[1:]]


class Child:
    """The MCP server process that ``mcpwall wrap`` runs."""

    def __init__(self, proc: asyncio.subprocess.Process, argv: list[str]) -> None:
        self.proc = proc
        self.argv = argv
        assert proc.stdin is not None and proc.stdout is not None
        self.stdin = StreamSink(proc.stdin)
        self.stdout = proc.stdout

    @classmethod
    async def spawn(cls, argv: Sequence[str], env: Mapping[str, str]) -> Child:
        resolved = resolve_command(argv, env)
        kwargs: dict[str, object] = {}
        if POSIX:
            kwargs["start_new_session"] = True  # own process group, so we can signal all of it
        elif sys.platform == "win32":
            import subprocess

            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        try:
            proc = await asyncio.create_subprocess_exec(
                *resolved,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=None,  # the server's logs go to our stderr as they are
                env=dict(env),
                **kwargs,  # type: ignore[arg-type]
            )
        except OSError as e:
            raise UpstreamError(f"cannot start {argv[0]!r}: {e.strerror or e}") from None
        log.info("started MCP server pid %s: %s", proc.pid, " ".join(argv))
        return cls(proc, list(argv))

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def signal(self, sig: int) -> None:
        if self.proc.returncode is not None:
            return
        try:
            if POSIX:
                os.killpg(self.proc.pid, sig)
            elif sig == getattr(signal, "SIGKILL", None):
                self.proc.kill()
            else:
                self.proc.terminate()
        except ProcessLookupError:
            pass

    async def _wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def stop(self, stdin_grace: float, term_grace: float) -> int:
        """Close stdin, wait, SIGTERM the group, wait, SIGKILL. Returns the exit code."""
        self.stdin.close()
        if not await self._wait(stdin_grace):
            log.info("MCP server did not exit after stdin closed; sending SIGTERM")
            self.signal(signal.SIGTERM)
            if not await self._wait(term_grace):
                log.warning("MCP server ignored SIGTERM; sending SIGKILL")
                self.signal(getattr(signal, "SIGKILL", signal.SIGTERM))
                await self.proc.wait()
        return self.exit_code()

    def exit_code(self) -> int:
        code = self.proc.returncode
        if code is None:
            return 1
        return 128 - code if code < 0 else code  # killed by signal N -> 128 + N, as shells do


# --- mcpwall wrap -----------------------------------------------------------------------


class LinePeer:
    """A relay peer that writes newline-delimited messages to a sink."""

    def __init__(self, sink: StreamSink) -> None:
        self.sink = sink

    async def send(self, out: Outgoing) -> None:
        await self.sink.write(out.data, b"\n")


async def pump(reader: LineReader, deliver: Callable[[bytes], Awaitable[None]],
               oversized: Callable[[int, bytes], Awaitable[None]]) -> str:
    """Feed every line to the relay until EOF; returns why it stopped.

    What the relay sends while the pump works through one read is batched per peer and
    flushed before the pump waits for input again.
    """
    batch: _Batch | None = None

    async def before_read() -> None:
        nonlocal batch
        if batch is not None:
            await batch.flush()
        batch = _Batch()
        _batch.set(batch)

    reader.before_read = before_read
    try:
        async for item in reader:
            if isinstance(item, Oversized):
                await oversized(item.size, item.head)
            else:
                await deliver(item)
        if batch is not None:
            await batch.flush()
    except ConnectionResetError:
        return "peer closed"
    return "eof"


async def wrap(app: App, argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Run ``argv`` as a child MCP server and relay our stdio to it. Returns the exit code."""
    settings = app.settings
    child = await Child.spawn(argv, env)
    client_sink = await own_stdout()
    relay = app.relay(upstream=" ".join(argv), client=LinePeer(client_sink), server=LinePeer(child.stdin))
    limit = settings.limits.max_message_bytes
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(sig: int) -> None:
        log.info("received %s; stopping the MCP server", signal.Signals(sig).name)
        child.signal(sig)
        stop.set()

    def on_hangup() -> None:
        # SIGHUP reloads mcpwall's policy (it is not forwarded): sessions stay open.
        log.info("received SIGHUP; reloading the policy")
        app.reload()

    handled = []
    if POSIX:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
            handled.append(sig)
        loop.add_signal_handler(signal.SIGHUP, on_hangup)
        handled.append(signal.SIGHUP)
    interval = settings.policy.watch_seconds
    watcher = (asyncio.create_task(app.watch(interval), name="policy-watch")
               if app.loader is not None and interval > 0 else None)

    read_stdin = await own_stdin()
    c2s = asyncio.create_task(pump(
        LineReader(read_stdin, limit), relay.from_client,
        lambda size, head: relay.oversized(Direction.C2S, size, head)), name="c2s")
    s2c = asyncio.create_task(pump(
        LineReader(child.stdout.read, limit), relay.from_server,
        lambda size, head: relay.oversized(Direction.S2C, size, head)), name="s2c")
    stopper = asyncio.create_task(stop.wait(), name="signal")
    try:
        done, _ = await asyncio.wait({c2s, s2c, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if s2c in done:
            # The server closed its stdout: it is exiting or dead. Fail what is in flight now.
            exited = await child._wait(settings.child.stdin_close_grace)
            why = f"the server exited with code {child.exit_code()}" if exited else "the server closed its output"
            await _safe(relay.upstream_lost(why))
            await child.stop(settings.child.stdin_close_grace, settings.child.term_grace)
        else:
            # The client went away (EOF) or we were signalled: stop the server, still relaying
            # whatever it says until its stdout closes.
            await child.stop(settings.child.stdin_close_grace, settings.child.term_grace)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(s2c), settings.child.term_grace)
            await _safe(relay.upstream_lost(f"the server exited with code {child.exit_code()}"))
    finally:
        tasks = [c2s, s2c, stopper, *([watcher] if watcher is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in handled:
            loop.remove_signal_handler(sig)
        client_sink.close()
        await app.close()
    code = child.exit_code()
    log.info("MCP server exited with code %s", code)
    return code


async def _safe(coro: Awaitable[None]) -> None:
    with contextlib.suppress(ConnectionResetError):
        await coro

"""The audit writer process: ``python -m mcpwall.audit.writer``, started by ``SqliteAudit``.

It reads length-prefixed msgpack messages on stdin (a header with the database path and
chain key, then ``[op, token, records]``), stores records in groups, and acknowledges
tokens on stdout with ``[token, error, rows written]``. A group is written when
``flush_rows`` records are waiting, ``flush_interval`` after its first record, or at once
when a sync or stop asks for it. At the end of stdin (mcpwall closed it, or exited or died)
it stores what it has and exits, so records already sent survive their sender.

Interrupt and termination signals are ignored: they reach the whole process group when a
user presses Ctrl-C, and the writer must outlive its parent long enough to drain the pipe.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import msgspec

from .sqlite import OP_STOP, OP_SYNC, Writer, read_message, write_message

log = logging.getLogger("mcpwall.audit.writer")


def _ignore_signals() -> None:
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)


class _Inbox:
    """What the reader thread has received and the writer has not stored yet.

    The writer is woken only when a group starts, fills up or must be written now, not
    once per message, so the two threads rarely hand the interpreter lock back and forth.
    """

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.lock = threading.Lock()
        self.records: list[Any] = []
        self.tokens: list[int] = []
        self.stop = False
        self.wake = threading.Event()  # something is waiting
        self.now = threading.Event()  # write without waiting for the group to fill

    def put(self, op: int, token: int, records: list[Any]) -> None:
        with self.lock:
            first = not self.records and not self.tokens
            self.records.extend(records)
            if op in (OP_SYNC, OP_STOP):
                self.tokens.append(token)
                self.stop = self.stop or op == OP_STOP
            urgent = bool(self.tokens) or self.stop or len(self.records) >= self.max_rows
        if urgent:
            self.now.set()
        if first or urgent:
            self.wake.set()

    def end(self) -> None:
        with self.lock:
            self.stop = True
        self.now.set()
        self.wake.set()

    def take(self) -> tuple[list[Any], list[int], bool]:
        with self.lock:
            records, tokens, stop = self.records, self.tokens, self.stop
            self.records, self.tokens = [], []
            self.now.clear()
            self.wake.clear()
            return records, tokens, stop


def _reader(stream: Any, inbox: _Inbox, decoder: msgspec.msgpack.Decoder[Any]) -> None:
    try:
        while (body := read_message(stream)) is not None:
            op, token, records = decoder.decode(body)
            inbox.put(op, token, records)
    finally:
        inbox.end()


def serve(stdin: Any, out_fd: int) -> int:
    decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder()
    encoder = msgspec.msgpack.Encoder()
    body = read_message(stdin)
    if body is None:
        return 0
    header = decoder.decode(body)
    writer = Writer(Path(header["path"]), bytes(header["key"]), max_frame_bytes=int(header["max_frame_bytes"]))
    interval = float(header["flush_interval"])
    inbox = _Inbox(int(header["flush_rows"]))
    threading.Thread(target=_reader, args=(stdin, inbox, decoder), name="mcpwall-audit-reader", daemon=True).start()
    while True:
        inbox.wake.wait()
        inbox.now.wait(interval)  # let a group form, unless it is full or wanted now
        records, tokens, stop = inbox.take()
        for start in range(0, max(len(records), 1), inbox.max_rows):
            error = writer.write(records[start : start + inbox.max_rows])
            if error is not None:
                break
        for token in tokens or ([0] if error else []):
            write_message(out_fd, encoder.encode((token, error, writer.written)))
        if stop:
            break
    writer.close()
    return 0


def main() -> int:
    _ignore_signals()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="mcpwall audit writer: %(message)s")
    try:
        return serve(sys.stdin.buffer, sys.stdout.fileno())
    except BrokenPipeError:
        return 0  # mcpwall is gone and wants no acknowledgements


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # Not sys.exit: the reader thread may still sit in a read of stdin, and interpreter
    # shutdown would wait for (or abort on) its buffered reader.
    os._exit(code)

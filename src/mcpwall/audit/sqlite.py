"""The default audit sink: SQLite in WAL mode, written by a process of its own, chained with HMAC.

The relay hands over records without waiting (``record``); every ``SEND_DELAY`` (or
sooner, once ``SEND_ROWS`` are queued) they go to the writer process in one pipe write, and
the writer groups them into one transaction per ``flush_interval`` or ``flush_rows``. When a blocked or changed frame must
not leave mcpwall before its record is stored, the relay awaits ``commit``, which the
writer stores at once and acknowledges.

Why a process and not a thread: masking, hashing and chaining a row is Python work, and a
writer thread holding the interpreter lock stalls the event loop (measured with
bench/cpu.py: a thread cost the relay's loop about 12 us per request+response on top of
the writer's own work). Several mcpwall processes may share one file: each transaction
takes SQLite's write lock (``BEGIN IMMEDIATE``) and links to the newest row it finds there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import os
import secrets
import sqlite3
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from ..errors import AuditError
from ..verdict import Finding
from .chain import chain_rows, genesis, row_mac
from .mask import MASKED_CATEGORIES, frames_with_hints, mask_frame, may_hold_credentials
from .record import AuditRecord

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
# Column order is part of the MAC: never reorder, only append (and bump SCHEMA_VERSION).
COLUMNS = (
    "seq", "ts", "session", "upstream", "identity", "direction", "kind", "method", "msg_id", "tool",
    "action", "enforced", "inspector", "rule", "reason", "findings", "frame_sha256", "frame_size", "frame",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    session TEXT, upstream TEXT, identity TEXT,
    direction TEXT, kind TEXT, method TEXT, msg_id TEXT, tool TEXT,
    action TEXT NOT NULL, enforced INTEGER NOT NULL,
    inspector TEXT, rule TEXT, reason TEXT, findings TEXT,
    frame_sha256 TEXT NOT NULL, frame_size INTEGER NOT NULL, frame TEXT,
    prev_mac TEXT NOT NULL, mac TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
-- Partial: passes are nearly every row, and nobody looks them up by verdict.
CREATE INDEX IF NOT EXISTS audit_action ON audit (action) WHERE action != 'pass';
CREATE TABLE IF NOT EXISTS chain_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER, mac TEXT);
"""

def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    if create:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not path.exists():
        raise AuditError(f"audit database {path} does not exist")
    try:
        con = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA busy_timeout = 30000")
        if create:
            # 16 KiB pages for a new file (an existing one keeps its own): a stored frame of
            # a few KiB fits without overflow pages, which costs 15-20% less CPU per row.
            con.execute("PRAGMA page_size = 16384")
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")
            con.executescript(_SCHEMA)
        return con
    except sqlite3.Error as e:
        raise AuditError(f"cannot open audit database {path}: {e}") from None


def chain_id(con: sqlite3.Connection) -> str:
    """The chain's random id, created with the database."""
    con.execute("BEGIN IMMEDIATE")
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'chain_id'").fetchone()
        if row is None:
            value = secrets.token_hex(16)
            con.execute("INSERT INTO meta (key, value) VALUES ('chain_id', ?)", (value,))
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        else:
            value = row[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return str(value)


def _id_text(msg_id: Any) -> str | None:
    # JSON keeps the id's type visible: 1 and "1" are stored differently.
    if msg_id is None:
        return None
    return str(msg_id) if type(msg_id) is int else json.dumps(msg_id, ensure_ascii=False)


# --- the parent side: records go to a writer process ------------------------------------

# Parent -> writer operations. Every message is a 4-byte little-endian length and a msgpack
# array [op, token, records]; the first message is the header (a map).
OP_RECORDS = 0  # store these with the next group
OP_SYNC = 1  # store these (and everything before) now, then acknowledge ``token``
OP_STOP = 2  # store everything, acknowledge ``token``, exit

_LEN = struct.Struct("<I")
_PIPE_BYTES = 1 << 20  # room for a burst of records before the relay waits for the writer
# Records of passed frames wait this long in mcpwall before they go to the writer, or until
# this many are queued. Waking the writer once per event-loop turn put it on the relay's
# critical path: with one request in flight, mcpwall added ~210 us p50 instead of ~145 us
# (bench/relay.py on two cores). Blocked and changed frames do not wait (``commit``), nor
# does anything queued when mcpwall stops; a SIGKILLed mcpwall loses at most this window.
SEND_DELAY = 0.01
SEND_ROWS = 512
CLOSE_TIMEOUT = 60.0  # seconds the writer gets to store what it has when mcpwall stops
REAP_TIMEOUT = 30.0  # then seconds it gets to exit before it is killed


def write_message(fd: int, payload: bytes) -> None:
    data = memoryview(_LEN.pack(len(payload)) + payload)
    while data:
        n = os.write(fd, data)
        data = data[n:]


def read_message(stream: Any) -> bytes | None:
    """One message from a binary stream, or None at its end."""
    head = stream.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (n,) = _LEN.unpack(head)
    body = stream.read(n)
    return body if len(body) == n else None


def _findings_json(findings: list[Finding]) -> str | None:
    if not findings:
        return None
    return json.dumps([f.to_dict() for f in findings], ensure_ascii=False, default=str)


def _wire(rec: AuditRecord) -> tuple[Any, ...]:
    """A record as the writer receives it: the stored columns it cannot derive itself."""
    msg_id = rec.msg_id
    return (
        rec.ts, rec.session, rec.upstream, rec.identity, rec.direction, rec.kind, rec.method,
        None if msg_id is None else str(msg_id) if type(msg_id) is int else _id_text(msg_id),
        rec.tool, rec.action, rec.enforced, rec.inspector, rec.rule, rec.reason, _findings_json(rec.findings),
        rec.raw,
    )


class _Waiter:
    """Someone waiting for the writer to acknowledge a token: a future on an event loop,
    or a thread (``close_sync``)."""

    __slots__ = ("error", "event", "future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] | None = loop.create_future() if loop is not None else None
        self.event = threading.Event()
        self.error: AuditError | None = None

    def settle(self, error: AuditError | None) -> None:
        self.error = error
        if self.loop is not None and self.future is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self.loop.call_soon_threadsafe(_settle, self.future, error)
        self.event.set()


class SqliteAudit:
    """Audit sink writing to one SQLite file through a writer process.

    The relay's thread only queues records; every ``SEND_DELAY`` they go to the writer in
    one pipe write. The writer (``python -m mcpwall.audit.writer``) masks, hashes, chains
    and stores them, so none of that competes with relaying for the interpreter lock. A
    full pipe makes the relay wait: records are never dropped. When mcpwall exits or dies,
    the writer still stores everything it was sent, then exits.
    """

    def __init__(
        self,
        path: Path,
        key: bytes,
        *,
        flush_interval: float = 0.05,
        flush_rows: int = 1024,
        max_frame_bytes: int = 1024 * 1024,
    ) -> None:
        self.path = path
        self.flush_interval = flush_interval
        self.flush_rows = flush_rows
        self.max_frame_bytes = max_frame_bytes
        self.healthy = True
        self.written = 0
        # Create the file, its schema and chain id here, so a bad path fails at start.
        con = connect(path, create=True)
        try:
            chain_id(con)
        except sqlite3.Error as e:
            raise AuditError(f"cannot initialise audit database {path}: {e}") from None
        finally:
            con.close()
        self._buf: list[AuditRecord] = []
        self._scheduled = False
        self._lock = threading.Lock()  # one message at a time on the pipe
        self._tokens = itertools.count(1)
        self._waiters: dict[int, _Waiter] = {}
        self._closed = False
        self._encoder = msgspec.msgpack.Encoder()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "mcpwall.audit.writer"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True,
                # Its own session: Ctrl-C and a closing terminal signal mcpwall's process
                # group, and the writer must outlive mcpwall long enough to drain the pipe.
                start_new_session=os.name == "posix",
            )
        except OSError as e:
            raise AuditError(f"cannot start the audit writer: {e}") from None
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._fd = self._proc.stdin.fileno()
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError):
                import fcntl

                fcntl.fcntl(self._fd, 1031, _PIPE_BYTES)  # F_SETPIPE_SZ
        header = {"path": str(path), "key": key, "flush_interval": flush_interval, "flush_rows": flush_rows,
                  "max_frame_bytes": max_frame_bytes}
        write_message(self._fd, self._encoder.encode(header))
        self._acks = threading.Thread(target=self._read_acks, args=(self._proc.stdout,), name="mcpwall-audit-acks",
                                      daemon=True)
        self._acks.start()

    # --- called from the event loop -------------------------------------------------------

    def record(self, rec: AuditRecord) -> None:
        """Queue a record; it goes to the writer within ``SEND_DELAY`` and is committed with
        the next group."""
        buf = self._buf
        buf.append(rec)
        if len(buf) >= SEND_ROWS:
            self._send(OP_RECORDS)
            return
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._send(OP_RECORDS)
            return
        self._scheduled = True
        loop.call_later(SEND_DELAY, self._on_timer)

    def _on_timer(self) -> None:
        self._scheduled = False
        self._send(OP_RECORDS)

    async def commit(self, rec: AuditRecord) -> None:
        """Store a record now; return once its transaction has committed."""
        self._buf.append(rec)
        await self._sync(OP_SYNC)

    async def flush(self) -> None:
        await self._sync(OP_SYNC)

    async def close(self) -> None:
        if self._closed:
            return
        try:
            # A writer stuck on a locked database must not keep mcpwall from exiting.
            await asyncio.wait_for(self._sync(OP_STOP), CLOSE_TIMEOUT)
        except AuditError as e:
            log.error("%s", e)
        except TimeoutError:
            log.error("the audit writer did not finish within %s s; records still queued may be lost",
                      CLOSE_TIMEOUT)
        await asyncio.to_thread(self._reap)

    def close_sync(self) -> None:
        """For callers without an event loop (tests, commands)."""
        if self._closed:
            return
        waiter = _Waiter()
        if self._request(OP_STOP, waiter):
            waiter.event.wait(30)
        self._reap()

    # --- the pipe -------------------------------------------------------------------------

    async def _sync(self, op: int) -> None:
        waiter = _Waiter(asyncio.get_running_loop())
        if not self._request(op, waiter):
            raise waiter.error or AuditError("the audit writer is not running")
        assert waiter.future is not None
        await waiter.future

    def _request(self, op: int, waiter: _Waiter) -> bool:
        """Send what is queued with an operation the writer acknowledges."""
        if self._closed:
            waiter.error = AuditError("the audit log is closed")
            return False
        token = next(self._tokens)
        self._waiters[token] = waiter
        if op == OP_STOP:
            self._closed = True
        if not self._send(op, token):
            self._waiters.pop(token, None)
            waiter.error = AuditError("the audit writer is not running")
            return False
        return True

    def _send(self, op: int, token: int = 0) -> bool:
        with self._lock:
            records, self._buf = self._buf, []
            if not records and op == OP_RECORDS:
                return True
            try:
                payload = self._encoder.encode((op, token, [_wire(r) for r in records]))
                write_message(self._fd, payload)
                return True
            except (OSError, ValueError) as e:  # the writer is gone (or the pipe closed)
                self._lost(f"cannot reach the audit writer: {e}", records)
                return False

    def _lost(self, reason: str, records: list[AuditRecord]) -> None:
        self.healthy = False
        log.error("%s; %d audit record(s) logged here instead", reason, len(records))
        for rec in records:
            log.error("audit record: %s", json.dumps(_wire(rec)[:-1], default=str))

    def _read_acks(self, stream: Any) -> None:
        decoder = msgspec.msgpack.Decoder()
        while (body := read_message(stream)) is not None:
            token, error, written = decoder.decode(body)
            self.written = written
            self.healthy = error is None
            if error is not None:
                log.error("audit write to %s failed: %s", self.path, error)
            waiter = self._waiters.pop(token, None)
            if waiter is not None:
                waiter.settle(AuditError(f"audit log write failed: {error}") if error else None)
        # The writer exited: whoever still waits will not be answered.
        if not self._closed or self._waiters:
            self.healthy = False
            log.error("the audit writer for %s exited", self.path)
        for token in list(self._waiters):
            self._waiters.pop(token).settle(AuditError("the audit writer exited"))

    def _reap(self) -> None:
        with contextlib.suppress(OSError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:
            self._proc.wait(REAP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.error("the audit writer did not exit; killing it")
            self._proc.kill()
            self._proc.wait()
        self._acks.join(5)
        if self._proc.stdout is not None:
            self._proc.stdout.close()


# --- the writer process's side ------------------------------------------------------------


class Writer:
    """Stores groups of wire records in one transaction each, chained with HMAC."""

    def __init__(self, path: Path, key: bytes, *, max_frame_bytes: int = 1024 * 1024) -> None:
        self.path = path
        self._key = key
        self.max_frame_bytes = max_frame_bytes
        self.written = 0
        self._con = connect(path, create=True)
        self._genesis = genesis(key, chain_id(self._con))

    def close(self) -> None:
        self._con.close()

    def write(self, records: list[Sequence[Any]]) -> str | None:
        """Store the records; the error, if they could not be stored (they are logged)."""
        if not records:
            return None
        for attempt in (1, 2):
            try:
                self._insert(records)
                self.written += len(records)
                return None
            except sqlite3.Error as e:
                with contextlib.suppress(sqlite3.Error):
                    self._con.execute("ROLLBACK")
                if attempt == 2:
                    log.error("audit write to %s failed: %s; %d record(s) logged here instead",
                              self.path, e, len(records))
                    for rec in records:
                        log.error("audit record: %s", json.dumps(list(rec[:-1]), default=str))
                    return str(e)
        return None  # pragma: no cover

    def _row(self, rec: Sequence[Any], hinted: bool) -> list[Any]:
        """The stored columns of one wire record, in COLUMNS order (seq filled in later)."""
        (ts, session, upstream, identity, direction, kind, method, msg_id, tool, action, enforced, inspector,
         rule, reason, findings, raw) = rec
        # Nothing to mask (the common case) is decided without a call.
        frame = raw.decode("utf-8", "replace") if findings is None and not hinted else \
            mask_stored(raw, findings, hinted)
        if len(frame) > self.max_frame_bytes:
            frame = frame[: self.max_frame_bytes] + f"...[truncated; {len(raw)} bytes in all]"
        return [
            0, ts, session, upstream, identity, direction, kind, method, msg_id, tool, action,
            1 if enforced else 0, inspector, rule, reason, findings, hashlib.sha256(raw).hexdigest(), len(raw), frame,
        ]

    def _insert(self, records: list[Sequence[Any]]) -> None:
        hinted = frames_with_hints([r[-1] for r in records])
        rows = [self._row(r, i in hinted) for i, r in enumerate(records)]  # the slow part, outside the lock
        key = self._key
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        head = con.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (head[0], head[1]) if head else (0, self._genesis)
        prev = chain_rows(key, prev, rows, seq + 1)
        seq += len(rows)
        con.executemany(_INSERT, rows)
        con.execute("INSERT OR REPLACE INTO chain_head (id, seq, mac) VALUES (1, ?, ?)", (seq, prev))
        con.execute("COMMIT")


def mask_stored(raw: bytes, findings_json: str | None, hinted: bool | None = None) -> str:
    """The text to store for a frame, from its bytes and its findings (as stored).
    ``hinted``: whether the frame holds a credential hint word, when already known."""
    findings: list[Finding] = []
    if findings_json is not None:
        for d in json.loads(findings_json):
            if d.get("category") in MASKED_CATEGORIES:
                span = d.get("span")
                findings.append(Finding(d["category"], d.get("rule", ""), path=d.get("path", ""),
                                        span=(span[0], span[1]) if span else None, extra=d.get("extra") or {}))
    if not findings and not (may_hold_credentials(raw) if hinted is None else hinted):
        return raw.decode("utf-8", "replace")
    try:
        obj = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")  # not JSON: nothing to walk
    return mask_frame(raw, obj, findings)


_INSERT = (f"INSERT INTO audit ({','.join(COLUMNS)}, prev_mac, mac) "
           f"VALUES ({','.join('?' * (len(COLUMNS) + 2))})")


def _settle(fut: asyncio.Future[None], error: Exception | None) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(None)
    else:
        fut.set_exception(error)


# --- reading ---------------------------------------------------------------------------


@dataclass(slots=True)
class VerifyResult:
    ok: bool
    rows: int
    problem: str = ""
    bad_seq: int | None = None


def verify(path: Path, key: bytes) -> VerifyResult:
    """Walk the chain; report the first row that was changed, deleted, inserted or moved."""
    con = connect(path, create=False)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'chain_id'").fetchone()
        if row is None:
            return VerifyResult(False, 0, "the database has no chain id (not an mcpwall audit log?)")
        prev = genesis(key, row[0])
        cols = ",".join(COLUMNS)
        count = 0
        last_seq = 0
        expected_seq = None
        for r in con.execute(f"SELECT {cols}, prev_mac, mac FROM audit ORDER BY seq"):
            fields, prev_mac, mac = list(r[: len(COLUMNS)]), r[-2], r[-1]
            seq = fields[0]
            if expected_seq is not None and seq != expected_seq:
                return VerifyResult(False, count, f"row {expected_seq} is missing (deleted)", expected_seq)
            if prev_mac != prev:
                what = "the first row does not start the chain" if count == 0 else "a row before it was deleted or inserted"
                return VerifyResult(False, count, f"row {seq}: chain broken ({what})", seq)
            if row_mac(key, prev, fields) != mac:
                return VerifyResult(False, count, f"row {seq} was changed or inserted (its MAC does not verify)", seq)
            prev = mac
            last_seq = seq
            expected_seq = seq + 1
            count += 1
        head = con.execute("SELECT seq, mac FROM chain_head WHERE id = 1").fetchone()
        if head is None:
            if count:
                return VerifyResult(False, count, "the chain head record is missing")
        elif head[0] != last_seq or head[1] != prev:
            return VerifyResult(
                False, count, f"the log ends at row {last_seq} but the chain head names row {head[0]} "
                "(newest rows deleted, or the head was edited)", last_seq + 1,
            )
        return VerifyResult(True, count)
    finally:
        con.close()


def query(
    path: Path,
    *,
    since: float | None = None,
    direction: str | None = None,
    action: str | None = None,
    method: str | None = None,
    tool: str | None = None,
    limit: int = 100,
) -> Iterator[dict[str, Any]]:
    """Newest matching rows first."""
    con = connect(path, create=False)
    con.row_factory = sqlite3.Row
    where: list[str] = []
    args: list[Any] = []
    for col, val in (("direction", direction), ("action", action), ("method", method), ("tool", tool)):
        if val is not None:
            if any(c in val for c in "*?["):
                where.append(f"{col} GLOB ?")
            else:
                where.append(f"{col} = ?")
                if col == "action" and val != "pass":
                    where.append("action != 'pass'")  # lets SQLite use the partial index
            args.append(val)
    if since is not None:
        where.append("ts >= ?")
        args.append(since)
    sql = "SELECT * FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC LIMIT ?"
    args.append(limit)
    try:
        for r in con.execute(sql, args):
            yield dict(r)
    except sqlite3.Error as e:
        raise AuditError(f"cannot read audit database {path}: {e}") from None
    finally:
        con.close()

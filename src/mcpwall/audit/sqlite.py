"""The default audit sink: SQLite in WAL mode, written by one thread, chained with HMAC.

The relay hands over records without waiting (``record``); the writer thread groups them
into one transaction per ``flush_interval`` or ``flush_rows``. When a blocked or changed
frame must not leave mcpwall before its record is stored, the relay awaits ``commit``, which
wakes the writer at once.

The hand-over is a deque (appending is atomic and costs the event loop about 0.1 µs); the
writer is woken only when a group starts, fills up or must be committed now, not once per
record, so the two threads rarely contend for the GIL or a lock. Several mcpwall processes may share one file: each transaction
takes SQLite's write lock (``BEGIN IMMEDIATE``) and links to the newest row it finds there.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AuditError
from ..verdict import Finding
from .chain import genesis, row_mac
from .mask import mask_frame
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
CREATE INDEX IF NOT EXISTS audit_action ON audit (action);
CREATE TABLE IF NOT EXISTS chain_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER, mac TEXT);
"""

Masker = Callable[[bytes, Any, list[Finding]], str]


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


@dataclass(slots=True)
class _Item:
    """A request to the writer: commit now and settle ``future`` (with a record, or not)."""

    record: AuditRecord | None
    future: asyncio.Future[None] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    stop: bool = False


class SqliteAudit:
    """Audit sink writing to one SQLite file from a background thread."""

    def __init__(
        self,
        path: Path,
        key: bytes,
        *,
        flush_interval: float = 0.05,
        flush_rows: int = 256,
        max_frame_bytes: int = 1024 * 1024,
        masker: Masker = mask_frame,
    ) -> None:
        self.path = path
        self._key = key
        self.flush_interval = flush_interval
        self.flush_rows = flush_rows
        self.max_frame_bytes = max_frame_bytes
        self.masker = masker
        self.healthy = True
        self.written = 0
        # Records (and _Items) in arrival order: the order of the chain.
        self._pending: collections.deque[AuditRecord | _Item] = collections.deque()
        self._wake = threading.Event()  # something is pending
        self._now = threading.Event()  # write without waiting for the group to fill
        self._con = connect(path, create=True)
        self._genesis = genesis(key, chain_id(self._con))
        self._thread = threading.Thread(target=self._run, name="mcpwall-audit", daemon=True)
        self._thread.start()

    # --- called from the event loop -------------------------------------------------------

    def record(self, rec: AuditRecord) -> None:
        """Queue a record; it is committed with the next group."""
        pending = self._pending
        pending.append(rec)
        n = len(pending)
        if n == 1:
            self._wake.set()  # a group starts
        elif n >= self.flush_rows and not self._now.is_set():
            self._now.set()

    def _urgent(self, item: _Item) -> None:
        self._pending.append(item)
        self._now.set()
        self._wake.set()

    async def commit(self, rec: AuditRecord) -> None:
        """Store a record now; return once its transaction has committed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._urgent(_Item(rec, fut, loop))
        await fut

    async def flush(self) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._urgent(_Item(None, fut, loop))
        await fut

    async def close(self) -> None:
        if not self._thread.is_alive():
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._urgent(_Item(None, fut, loop, stop=True))
        await fut
        await asyncio.to_thread(self._thread.join, 10)

    def close_sync(self) -> None:
        """For callers without an event loop (tests, commands)."""
        if self._thread.is_alive():
            self._urgent(_Item(None, stop=True))
            self._thread.join(10)

    # --- the writer thread ----------------------------------------------------------------

    def _run(self) -> None:
        pending = self._pending
        while True:
            self._wake.wait()
            self._wake.clear()
            # Let a group form, unless it is full or someone waits for a commit.
            self._now.wait(self.flush_interval)
            self._now.clear()
            while pending:
                records: list[AuditRecord] = []
                settle: list[_Item] = []
                stop = False
                # Everything queued so far, in order, in groups of at most flush_rows rows.
                while pending and len(records) < self.flush_rows:
                    item = pending.popleft()
                    if type(item) is _Item:
                        if item.record is not None:
                            records.append(item.record)
                        settle.append(item)
                        stop = stop or item.stop
                    else:
                        records.append(item)  # type: ignore[arg-type]
                error = self._write(records)
                for it in settle:
                    if it.future is not None and it.loop is not None:
                        it.loop.call_soon_threadsafe(_settle, it.future, error)
                if stop:
                    self._con.close()
                    return

    def _write(self, records: list[AuditRecord]) -> AuditError | None:
        if not records:
            return None
        for attempt in (1, 2):
            try:
                self._insert(records)
                self.written += len(records)
                self.healthy = True
                return None
            except sqlite3.Error as e:
                with contextlib.suppress(sqlite3.Error):
                    self._con.execute("ROLLBACK")
                if attempt == 2:
                    self.healthy = False
                    log.error("audit write to %s failed: %s; %d record(s) logged here instead",
                              self.path, e, len(records))
                    for rec in records:
                        log.error("audit record: %s", json.dumps(self._row(rec, 0)[1:], default=str))
                    return AuditError(f"audit log write failed: {e}")
        return None  # pragma: no cover

    def _row(self, rec: AuditRecord, seq: int) -> list[Any]:
        """The stored columns of one record, in COLUMNS order."""
        raw = rec.raw
        frame = self.masker(raw, rec.obj, rec.findings)
        if len(frame) > self.max_frame_bytes:
            frame = frame[: self.max_frame_bytes] + f"...[truncated; {len(raw)} bytes in all]"
        msg_id = rec.msg_id
        return [
            seq, rec.ts, rec.session, rec.upstream, rec.identity, rec.direction, rec.kind, rec.method,
            None if msg_id is None else str(msg_id) if type(msg_id) is int else _id_text(msg_id),
            rec.tool, rec.action, 1 if rec.enforced else 0, rec.inspector, rec.rule, rec.reason,
            json.dumps([f.to_dict() for f in rec.findings], ensure_ascii=False) if rec.findings else None,
            hashlib.sha256(raw).hexdigest(), len(raw), frame,
        ]

    def _insert(self, records: list[AuditRecord]) -> None:
        rows = [self._row(r, 0) for r in records]  # the slow part, outside the lock
        key = self._key
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        head = con.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (head[0], head[1]) if head else (0, self._genesis)
        for fields in rows:
            seq += 1
            fields[0] = seq
            mac = row_mac(key, prev, fields)
            fields.append(prev)
            fields.append(mac)
            prev = mac
        con.executemany(_INSERT, rows)
        con.execute("INSERT OR REPLACE INTO chain_head (id, seq, mac) VALUES (1, ?, ?)", (seq, prev))
        con.execute("COMMIT")


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

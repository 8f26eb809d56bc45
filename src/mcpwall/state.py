"""The state database: pins (trust on first use) and human approvals, shared across processes.

One SQLite file under the user's state directory (``<state dir>/state.db`` unless
``pins.db`` says otherwise). The relay writes to it while ``mcpwall pins ...`` and
``mcpwall approvals ...`` read and change it from another process, so every change is a
short ``BEGIN IMMEDIATE`` transaction in WAL mode. Errors surface as :class:`StateError`
so the callers can fail closed.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import McpwallError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS upstreams (
    key TEXT PRIMARY KEY, label TEXT NOT NULL, server TEXT NOT NULL,
    set_hash TEXT, first_seen REAL NOT NULL, approved_at REAL, kinds TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS pins (
    upstream TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    hash TEXT NOT NULL, body_hash TEXT NOT NULL, content TEXT NOT NULL, pinned_at REAL NOT NULL,
    PRIMARY KEY (upstream, kind, name)
);
CREATE TABLE IF NOT EXISTS observed (
    upstream TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    hash TEXT NOT NULL, body_hash TEXT NOT NULL, content TEXT NOT NULL, seen_at REAL NOT NULL,
    PRIMARY KEY (upstream, kind, name)
);
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY, digest TEXT NOT NULL, status TEXT NOT NULL,
    upstream TEXT, identity TEXT, tool TEXT, arguments TEXT, reason TEXT, rule TEXT,
    created REAL NOT NULL, expires REAL NOT NULL, decided REAL, via TEXT
);
CREATE INDEX IF NOT EXISTS approvals_digest ON approvals (digest, status);
"""


class StateError(McpwallError):
    """The state database could not be read or written."""


@dataclass(frozen=True, slots=True)
class PinEntry:
    kind: str  # tool | prompt | resource_template | instructions
    name: str
    hash: str  # of the whole item, name included
    body_hash: str  # of the item without its name: finds renames
    content: str  # canonical JSON, for diffs


@dataclass(frozen=True, slots=True)
class Approval:
    id: str
    digest: str
    status: str  # pending | granted | denied | used
    upstream: str
    identity: str
    tool: str
    arguments: str
    reason: str
    rule: str
    created: float
    expires: float
    decided: float | None
    via: str | None

    def live(self, now: float) -> bool:
        return self.expires > now


class StateStore:
    """Thread-safe access to the state database (one connection, guarded by a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._con = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
            self._con.execute("PRAGMA busy_timeout = 10000")
            self._con.execute("PRAGMA journal_mode = WAL")
            self._con.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as e:
            raise StateError(f"cannot open the state database {path}: {e}") from None

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def _tx(self, fn: Any) -> Any:
        with self._lock:
            try:
                self._con.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(self._con)
                    self._con.execute("COMMIT")
                    return out
                except BaseException:
                    self._con.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise StateError(f"state database {self.path}: {e}") from None

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._con.execute(sql, tuple(args)))
            except sqlite3.Error as e:
                raise StateError(f"state database {self.path}: {e}") from None

    # --- pins ---------------------------------------------------------------------------

    def upstreams(self) -> list[dict[str, Any]]:
        rows = self._read("SELECT key, label, server, set_hash, first_seen, approved_at FROM upstreams ORDER BY label")
        out = []
        for key, label, server, set_hash, first, approved in rows:
            counts = dict(self._read("SELECT kind, count(*) FROM pins WHERE upstream = ? GROUP BY kind", (key,)))
            pinned = {(k, n): h for k, n, h in self._read("SELECT kind, name, hash FROM pins WHERE upstream = ?", (key,))}
            drifted = sum(1 for k, n, h in self._read("SELECT kind, name, hash FROM observed WHERE upstream = ?", (key,))
                          if pinned.get((k, n)) != h)
            out.append({"key": key, "label": label, "server": json.loads(server), "set_hash": set_hash,
                        "first_seen": first, "approved_at": approved, "counts": counts, "unapproved": drifted})
        return out

    def pinned_kinds(self, key: str) -> set[str] | None:
        """The kinds of item pinned for this upstream; None when the upstream is unknown."""
        rows = self._read("SELECT kinds FROM upstreams WHERE key = ?", (key,))
        return set(json.loads(rows[0][0])) if rows else None

    def pins(self, key: str, kind: str | None = None) -> dict[tuple[str, str], PinEntry]:
        sql = "SELECT kind, name, hash, body_hash, content FROM pins WHERE upstream = ?"
        args: list[Any] = [key]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        return {(k, n): PinEntry(k, n, h, b, c) for k, n, h, b, c in self._read(sql, args)}

    def observed(self, key: str) -> dict[tuple[str, str], PinEntry]:
        rows = self._read("SELECT kind, name, hash, body_hash, content FROM observed WHERE upstream = ?", (key,))
        return {(k, n): PinEntry(k, n, h, b, c) for k, n, h, b, c in rows}

    def pin_hash(self, key: str, kind: str, name: str) -> str | None:
        rows = self._read("SELECT hash FROM pins WHERE upstream = ? AND kind = ? AND name = ?", (key, kind, name))
        return str(rows[0][0]) if rows else None

    def first_use(self, key: str, label: str, server: Mapping[str, Any], kind: str,
                  entries: Iterable[PinEntry]) -> bool:
        """Trust on first use: pin ``entries`` when this kind was never pinned for the upstream.

        True when it pinned them; False when pins of that kind already exist (then the
        caller diffs against them). Safe against two processes racing on first use.
        """
        items = list(entries)

        def run(con: sqlite3.Connection) -> bool:
            now = time.time()
            row = con.execute("SELECT kinds FROM upstreams WHERE key = ?", (key,)).fetchone()
            if row is None:
                con.execute("INSERT INTO upstreams (key, label, server, set_hash, first_seen, approved_at, kinds) "
                            "VALUES (?, ?, ?, NULL, ?, ?, '[]')",
                            (key, label, json.dumps(dict(server), sort_keys=True), now, now))
                kinds: list[str] = []
            else:
                kinds = json.loads(row[0])
            if kind in kinds:
                return False
            con.executemany("INSERT OR REPLACE INTO pins VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [(key, e.kind, e.name, e.hash, e.body_hash, e.content, now) for e in items])
            con.execute("UPDATE upstreams SET kinds = ? WHERE key = ?", (json.dumps(sorted({*kinds, kind})), key))
            _update_set_hash(con, key)
            return True

        return bool(self._tx(run))

    def record_observed(self, key: str, kinds: Iterable[str], entries: Iterable[PinEntry], *,
                        complete: bool) -> None:
        """Remember the latest listing (what ``pins diff`` and ``pins approve`` work from)."""
        kinds = list(kinds)
        items = list(entries)
        now = time.time()

        def run(con: sqlite3.Connection) -> None:
            if complete:
                con.executemany("DELETE FROM observed WHERE upstream = ? AND kind = ?", [(key, k) for k in kinds])
            con.executemany("INSERT OR REPLACE INTO observed VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [(key, e.kind, e.name, e.hash, e.body_hash, e.content, now) for e in items])

        self._tx(run)

    def approve(self, key: str, names: Iterable[tuple[str, str]] | None = None) -> int:
        """Make the observed catalogue (or the named items of it) the pinned one."""
        wanted = None if names is None else set(names)

        def run(con: sqlite3.Connection) -> int:
            obs = con.execute("SELECT kind, name, hash, body_hash, content FROM observed WHERE upstream = ?",
                              (key,)).fetchall()
            now = time.time()
            changed = 0
            if wanted is None:
                kinds = {r[0] for r in obs}
                for kind in kinds:
                    con.execute("DELETE FROM pins WHERE upstream = ? AND kind = ?", (key, kind))
            for kind, name, h, b, c in obs:
                if wanted is not None and (kind, name) not in wanted:
                    continue
                con.execute("INSERT OR REPLACE INTO pins VALUES (?, ?, ?, ?, ?, ?, ?)", (key, kind, name, h, b, c, now))
                changed += 1
            if wanted is not None:
                for kind, name in wanted:
                    if not any(r[0] == kind and r[1] == name for r in obs):
                        changed += con.execute("DELETE FROM pins WHERE upstream = ? AND kind = ? AND name = ?",
                                               (key, kind, name)).rowcount
            con.execute("UPDATE upstreams SET approved_at = ? WHERE key = ?", (now, key))
            _update_set_hash(con, key)
            return changed

        return int(self._tx(run))

    def reset(self, key: str | None = None) -> int:
        def run(con: sqlite3.Connection) -> int:
            where, args = ("WHERE upstream = ?", (key,)) if key else ("", ())
            n = con.execute(f"DELETE FROM pins {where}", args).rowcount
            con.execute(f"DELETE FROM observed {where}", args)
            con.execute("DELETE FROM upstreams" + (" WHERE key = ?" if key else ""), args)
            return int(n)

        return int(self._tx(run))

    def resolve_upstream(self, ref: str | None) -> str:
        """A key from a key, a unique key prefix, or a unique substring of the label."""
        ups = self._read("SELECT key, label FROM upstreams")
        if ref is None:
            if len(ups) == 1:
                return str(ups[0][0])
            raise StateError("name the upstream (see `mcpwall pins list`)" if ups else "no upstream is pinned yet")
        for key, _ in ups:
            if key == ref:
                return str(key)
        hits = [k for k, label in ups if k.startswith(ref) or ref in label]
        if len(hits) == 1:
            return str(hits[0])
        if not hits:
            raise StateError(f"no pinned upstream matches {ref!r} (see `mcpwall pins list`)")
        raise StateError(f"{ref!r} matches {len(hits)} upstreams; give more of the key")

    # --- approvals ----------------------------------------------------------------------

    def request_approval(self, digest: str, *, upstream: str, identity: str, tool: str, arguments: str,
                         reason: str, rule: str, ttl: float) -> Approval:
        """The pending approval for this exact call, created if there is none alive."""

        def run(con: sqlite3.Connection) -> Approval:
            now = time.time()
            row = con.execute(
                f"SELECT {_ACOLS} FROM approvals WHERE digest = ? AND status = 'pending' AND expires > ? "
                "ORDER BY created DESC LIMIT 1", (digest, now)).fetchone()
            if row:
                return Approval(*row)
            aid = secrets.token_hex(4)
            con.execute(f"INSERT INTO approvals ({_ACOLS}) VALUES ({','.join('?' * 13)})",
                        (aid, digest, "pending", upstream, identity, tool, arguments, reason, rule,
                         now, now + ttl, None, None))
            return Approval(aid, digest, "pending", upstream, identity, tool, arguments, reason, rule,
                            now, now + ttl, None, None)

        result: Approval = self._tx(run)
        return result

    def consume_grant(self, digest: str) -> Approval | None:
        """Use up a live grant for this exact call; None when there is none (single use)."""

        def run(con: sqlite3.Connection) -> Approval | None:
            now = time.time()
            row = con.execute(
                f"SELECT {_ACOLS} FROM approvals WHERE digest = ? AND status = 'granted' AND expires > ? "
                "ORDER BY decided LIMIT 1", (digest, now)).fetchone()
            if row is None:
                return None
            con.execute("UPDATE approvals SET status = 'used' WHERE id = ?", (row[0],))
            return Approval(*row)

        result: Approval | None = self._tx(run)
        return result

    def approval(self, approval_id: str) -> Approval | None:
        """The approval request with exactly this id."""
        rows = self._read(f"SELECT {_ACOLS} FROM approvals WHERE id = ?", (approval_id,))
        return Approval(*rows[0]) if rows else None

    def decide(self, approval_id: str, grant: bool, *, ttl: float, via: str) -> Approval:
        def run(con: sqlite3.Connection) -> Approval:
            now = time.time()
            rows = con.execute(f"SELECT {_ACOLS} FROM approvals WHERE id LIKE ?", (approval_id + "%",)).fetchall()
            if len(rows) != 1:
                raise StateError(f"no approval request {approval_id!r}" if not rows
                                 else f"{approval_id!r} names {len(rows)} approval requests")
            a = Approval(*rows[0])
            if a.status != "pending":
                raise StateError(f"approval request {a.id} is already {a.status}")
            if a.expires <= now:
                raise StateError(f"approval request {a.id} expired; retry the call to ask again")
            status = "granted" if grant else "denied"
            expires = now + ttl if grant else a.expires
            con.execute("UPDATE approvals SET status = ?, decided = ?, expires = ?, via = ? WHERE id = ?",
                        (status, now, expires, via, a.id))
            return Approval(a.id, a.digest, status, a.upstream, a.identity, a.tool, a.arguments, a.reason,
                            a.rule, a.created, expires, now, via)

        result: Approval = self._tx(run)
        return result

    def approvals(self, *, include_done: bool = False) -> list[Approval]:
        now = time.time()
        if include_done:
            rows = self._read(f"SELECT {_ACOLS} FROM approvals ORDER BY created DESC")
        else:
            rows = self._read(f"SELECT {_ACOLS} FROM approvals WHERE status IN ('pending', 'granted') "
                              "AND expires > ? ORDER BY created DESC", (now,))
        return [Approval(*r) for r in rows]


def _update_set_hash(con: sqlite3.Connection, key: str) -> None:
    import hashlib

    parts = sorted(f"{k}\0{n}\0{h}" for k, n, h in
                   con.execute("SELECT kind, name, hash FROM pins WHERE upstream = ?", (key,)))
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
    con.execute("UPDATE upstreams SET set_hash = ? WHERE key = ?", (digest, key))


_ACOLS = "id, digest, status, upstream, identity, tool, arguments, reason, rule, created, expires, decided, via"

_stores: dict[Path, StateStore] = {}
_stores_lock = threading.Lock()


def open_store(path: Path) -> StateStore:
    """One store per file per process (pinning and approvals share it)."""
    path = path.expanduser()
    with _stores_lock:
        store = _stores.get(path)
        if store is None:
            store = StateStore(path)
            _stores[path] = store
        return store

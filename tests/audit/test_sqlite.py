"""The SQLite audit sink: grouped writes, commit-before-forward, and the tamper-evident chain."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mcpwall.audit.chain import load_or_create_key
from mcpwall.audit.record import AuditRecord
from mcpwall.audit.sqlite import SqliteAudit, query, verify
from mcpwall.errors import AuditError
from mcpwall.verdict import Finding

KEY = b"k" * 32


def rec(i: int, **kw: object) -> AuditRecord:
    raw = f'{{"jsonrpc":"2.0","id":{i},"method":"tools/call","params":{{"name":"t{i}"}}}}'.encode()
    fields: dict[str, object] = {"direction": "c2s", "action": "pass", "enforced": False, "raw": raw,
                                 "kind": "request", "method": "tools/call", "msg_id": i, "tool": f"t{i}"}
    fields.update(kw)
    return AuditRecord(**fields)  # type: ignore[arg-type]


async def write(path: Path, n: int, key: bytes = KEY) -> None:
    audit = SqliteAudit(path, key, flush_interval=0.01)
    for i in range(n):
        audit.record(rec(i))
    await audit.close()


async def test_records_are_stored_in_order_and_the_chain_verifies(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    await write(db, 25)
    rows = list(query(db, limit=100))
    assert [r["seq"] for r in rows] == list(range(25, 0, -1))
    assert rows[-1]["msg_id"] == "0" and rows[-1]["tool"] == "t0"
    assert verify(db, KEY).ok and verify(db, KEY).rows == 25


async def test_commit_returns_only_after_the_row_is_durable(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    audit = SqliteAudit(db, KEY, flush_interval=30)  # passes would wait 30 s
    await audit.commit(rec(1, action="block"))
    # Another connection sees it now, long before the group interval.
    assert sqlite3.connect(db).execute("SELECT action FROM audit").fetchall() == [("block",)]
    await audit.close()


@pytest.mark.parametrize(
    ("tamper", "bad_seq"),
    [
        ("UPDATE audit SET action = 'pass', tool = 'x' WHERE seq = 4", 4),
        ("UPDATE audit SET frame = replace(frame, 't6', 't9') WHERE seq = 7", 7),
        ("DELETE FROM audit WHERE seq = 5", 5),
        ("DELETE FROM audit WHERE seq = 1", 2),
        ("DELETE FROM audit WHERE seq = 10", 10),
        ("INSERT INTO audit (seq, ts, action, enforced, frame_sha256, frame_size, prev_mac, mac) "
         "VALUES (11, 0, 'pass', 0, 'x', 0, 'p', 'm')", 11),
    ],
    ids=["edit-verdict", "edit-frame", "delete-middle", "delete-first", "delete-last", "insert"],
)
async def test_verify_names_the_first_bad_row_after_tampering(tmp_path: Path, tamper: str, bad_seq: int) -> None:
    db = tmp_path / "a.db"
    await write(db, 10)
    con = sqlite3.connect(db)
    con.execute(tamper)
    con.commit()
    con.close()
    result = verify(db, KEY)
    assert not result.ok
    assert result.bad_seq == bad_seq, result.problem


async def test_a_wrong_key_does_not_verify(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    await write(db, 3)
    assert not verify(db, b"other-key-other-key-other").ok


async def test_two_writers_on_one_file_keep_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    a = SqliteAudit(db, KEY, flush_interval=0.001)
    b = SqliteAudit(db, KEY, flush_interval=0.001)
    for i in range(50):
        (a if i % 2 else b).record(rec(i))
        if i % 7 == 0:
            await (a if i % 2 else b).flush()
    await a.close()
    await b.close()
    result = verify(db, KEY)
    assert result.ok and result.rows == 50, result.problem


async def test_secrets_are_masked_in_stored_frames(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    audit = SqliteAudit(db, KEY)
    raw = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"login","arguments":{"user":"bob","password":"hunter2","note":"card 4111 1111 1111 1111"}}}'
    obj = __import__("json").loads(raw)
    finding = Finding("pii", "payment_card", path="$.params.arguments.note", span=(5, 24))
    audit.record(AuditRecord(direction="c2s", action="pass", enforced=False, raw=raw, obj=obj, findings=[finding]))
    await audit.close()
    (row,) = query(db)
    assert "hunter2" not in row["frame"] and "4111" not in row["frame"]
    assert '"user":"bob"' in row["frame"] and "card [pii masked]" in row["frame"]
    assert row["frame_sha256"] == __import__("hashlib").sha256(raw).hexdigest()


def test_generated_key_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "audit.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert load_or_create_key(path) == key
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_audit_verify_command_exit_codes(tmp_path: Path, isolated_state: Path) -> None:
    db = tmp_path / "a.db"
    key = load_or_create_key(isolated_state / "audit.key")
    await write(db, 5, key)
    env = {**os.environ, "MCPWALL_STATE_DIR": str(isolated_state)}
    ok = subprocess.run([sys.executable, "-m", "mcpwall", "audit", "verify", "--audit", str(db)],
                        capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "intact (5 rows)" in ok.stdout
    con = sqlite3.connect(db)
    con.execute("UPDATE audit SET tool = 'evil' WHERE seq = 3")
    con.commit()
    con.close()
    bad = subprocess.run([sys.executable, "-m", "mcpwall", "audit", "verify", "--audit", str(db)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1
    assert "row 3" in bad.stderr


async def test_records_sent_survive_their_sender(tmp_path: Path) -> None:
    """The writer stores what it was sent even when mcpwall goes away without closing."""
    db = tmp_path / "a.db"
    audit = SqliteAudit(db, KEY, flush_interval=30)
    for i in range(40):
        audit.record(rec(i))
    audit._send(0)  # what the event loop would do at the end of this turn
    # mcpwall "dies": its end of the pipe closes, no stop message is ever sent.
    audit._closed = True
    await asyncio.to_thread(audit._reap)
    result = verify(db, KEY)
    assert result.ok and result.rows == 40, result.problem


@pytest.mark.skipif(os.name != "posix", reason="signals")
async def test_the_writer_ignores_ctrl_c(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    audit = SqliteAudit(db, KEY, flush_interval=30)
    await audit.commit(rec(1))  # the writer is up
    assert os.getpgid(audit._proc.pid) != os.getpgrp()  # Ctrl-C at a terminal does not reach it
    audit._proc.send_signal(signal.SIGINT)  # nor does a direct one stop it
    await audit.commit(rec(2, action="block"))
    assert [r["action"] for r in query(db)] == ["block", "pass"]
    await audit.close()


async def test_a_dead_writer_makes_the_sink_unhealthy_and_commits_fail(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    audit = SqliteAudit(db, KEY)
    await audit.commit(rec(1))
    audit._proc.kill()
    await asyncio.to_thread(audit._proc.wait, 10)
    with pytest.raises(AuditError):
        await asyncio.wait_for(audit.commit(rec(2, action="block")), 10)
    assert not audit.healthy
    await audit.close()


@pytest.mark.skipif(os.name != "posix", reason="SIGSTOP")
async def test_a_stuck_writer_does_not_keep_mcpwall_from_stopping(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from mcpwall.audit import sqlite as sink

    monkeypatch.setattr(sink, "CLOSE_TIMEOUT", 0.5)
    monkeypatch.setattr(sink, "REAP_TIMEOUT", 0.5)
    audit = SqliteAudit(tmp_path / "a.db", KEY)
    await audit.commit(rec(1))  # the writer is up
    audit._proc.send_signal(signal.SIGSTOP)  # as if stuck on a locked database
    await asyncio.wait_for(audit.close(), 20)
    assert audit._proc.returncode is not None  # killed, not left behind

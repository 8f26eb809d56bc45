"""``mcpwall logs``: every filter and format over a real audit database, newest first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcpwall.audit.record import AuditRecord
from mcpwall.audit.sqlite import SqliteAudit
from mcpwall.cli import main, parse_since

KEY = b"k" * 32
NOW = time.time()
ROWS = [  # direction, action, method, id, tool, age in seconds
    ("c2s", "pass", "tools/call", 1, "read_file", 7200),
    ("s2c", "pass", "tools/call", 1, "read_file", 7199),
    ("c2s", "block", "tools/call", "two", "run_shell", 600),
    ("c2s", "pass", "resources/read", 0, None, 300),
    ("s2c", "modify", "tools/call", 3, "fetch", 60),
    ("c2s", "invalid", None, None, None, 30),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logs") / "audit.db"
    audit = SqliteAudit(path, KEY)
    for direction, action, method, msg_id, tool, age in ROWS:
        raw = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method}).encode()
        audit.record(AuditRecord(direction=direction, action=action, enforced=action != "pass", raw=raw,
                                 method=method, msg_id=msg_id, tool=tool, kind="request", ts=NOW - age,
                                 reason="denied by rule no-shell" if action == "block" else ""))
    audit.close_sync()
    return path


def logs(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> list[dict[str, object]]:
    assert main(["logs", "--audit", str(db), "--format", "jsonl", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize(
    ("args", "seqs"),
    [
        ((), [6, 5, 4, 3, 2, 1]),
        (("--limit", "2"), [6, 5]),
        (("--direction", "s2c"), [5, 2]),
        (("--direction", "client-to-server"), [6, 4, 3, 1]),
        (("--verdict", "block"), [3]),
        (("--verdict", "pass"), [4, 2, 1]),
        (("--method", "tools/*"), [5, 3, 2, 1]),
        (("--method", "resources/read"), [4]),
        (("--tool", "read_*"), [2, 1]),
        (("--since", "1h"), [6, 5, 4, 3]),
        (("--since", "5m"), [6, 5]),
        (("--tool", "run_shell", "--verdict", "block", "--since", "1d"), [3]),
    ],
)
def test_filters(capsys: pytest.CaptureFixture[str], db: Path, args: tuple[str, ...], seqs: list[int]) -> None:
    assert [r["seq"] for r in logs(capsys, db, *args)] == seqs


def test_ids_keep_their_type_and_json_and_table_formats_agree(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    rows = {r["seq"]: r for r in logs(capsys, db)}
    assert rows[3]["msg_id"] == "two" and rows[4]["msg_id"] == 0 and rows[1]["msg_id"] == 1
    assert rows[3]["enforced"] is True and rows[3]["reason"] == "denied by rule no-shell"
    assert main(["logs", "--audit", str(db), "--format", "json"]) == 0
    assert [r["seq"] for r in json.loads(capsys.readouterr().out)] == [6, 5, 4, 3, 2, 1]
    assert main(["logs", "--audit", str(db), "--verdict", "block"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["seq", "time", "dir"]
    assert "run_shell" in table[-1] and "no-shell" in table[-1] and '"two"' in table[-1]


@pytest.mark.parametrize("bad", [("--since", "yesterday"), ("--limit", "0")])
def test_bad_arguments_are_clear_errors(capsys: pytest.CaptureFixture[str], db: Path, bad: tuple[str, ...]) -> None:
    assert main(["logs", "--audit", str(db), *bad]) == 2
    assert "mcpwall: error:" in capsys.readouterr().err


def test_since_accepts_durations_and_iso_times() -> None:
    assert parse_since("90s", now=1000.0) == 910.0 and parse_since("2d", now=200000.0) == 200000.0 - 172800
    assert parse_since("2026-01-02T03:04:05+00:00") == 1767323045.0


def test_a_reader_that_goes_away_is_not_an_error(db: Path) -> None:
    """`mcpwall logs | head -1`: no traceback, exit 0."""
    proc = subprocess.Popen([sys.executable, "-m", "mcpwall", "logs", "--audit", str(db), "--format", "jsonl",
                             "--limit", "1000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ))
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # the reader leaves before the rest is written
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0 and "Traceback" not in err, err


def test_an_unknown_direction_is_a_clear_error(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    assert main(["logs", "--audit", str(db), "--direction", "sideways"]) == 2
    assert "--direction: unknown direction 'sideways'" in capsys.readouterr().err

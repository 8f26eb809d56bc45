"""The stdio tee shim forwards and records both directions byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import peers

# Bytes a JSON-RPC relay must not touch: CRLF, invalid UTF-8, NUL, no final newline.
PAYLOADS = [
    b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n',
    b'{"jsonrpc":"2.0","id":"1","method":"x"}\r\n{"a":"\xff\xfe"}\n\x00tail-without-newline',
    bytes(range(256)) * 300,
]


def run_tee(tmp_path: Path, command: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        peers.tee_cmd(tmp_path / "log", command), input=data, capture_output=True, timeout=30
    )


def test_forwards_and_records_both_directions_verbatim(tmp_path: Path) -> None:
    echo = [sys.executable, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read()[::-1])"]
    for index, payload in enumerate(PAYLOADS):
        log = tmp_path / str(index)
        done = run_tee(log, echo, payload)
        assert done.returncode == 0, done.stderr
        assert done.stdout == payload[::-1]
        assert (log / "log" / "stdin.bin").read_bytes() == payload
        assert (log / "log" / "stdout.bin").read_bytes() == payload[::-1]


def test_exits_with_the_command_exit_code(tmp_path: Path) -> None:
    done = run_tee(tmp_path, [sys.executable, "-c", "import sys; sys.exit(7)"], b"")
    assert done.returncode == 7


def test_closes_the_command_stdin_on_eof(tmp_path: Path) -> None:
    # The child only exits once it sees EOF on its stdin.
    reader = [sys.executable, "-c", "import sys; n = len(sys.stdin.buffer.read()); print(n)"]
    done = run_tee(tmp_path, reader, b"12345")
    assert done.stdout.strip() == b"5"

"""The row MAC is plain HMAC-SHA256 over the previous MAC and the row, whatever the key length."""

from __future__ import annotations

import hashlib
import hmac
import threading
from pathlib import Path

import msgspec
import pytest

from mcpwall.audit.chain import load_or_create_key, row_mac

ROW = [7, 1732000000.25, "sess", "python echo", "local", "c2s", "request", "tools/call", "12", "echo", "pass",
       0, "", "", "", None, "ab" * 32, 120, '{"jsonrpc":"2.0","id":12,"params":{"text":"é ✓ \\u0000"}}']


@pytest.mark.parametrize("key_len", [1, 16, 32, 63, 64, 65, 100, 200])
def test_row_mac_is_hmac_sha256_for_every_key_length(key_len: int) -> None:
    key = bytes(range(256))[:key_len] if key_len <= 256 else b"k" * key_len
    expected = hmac.new(key, b"prev\x1f" + msgspec.json.encode(ROW), hashlib.sha256).hexdigest()
    assert row_mac(key, "prev", ROW) == expected
    assert row_mac(key, "prev", tuple(ROW)) == expected  # the verifier passes tuples


def test_row_mac_depends_on_key_previous_mac_and_every_column() -> None:
    base = row_mac(b"k" * 32, "prev", ROW)
    assert row_mac(b"j" * 32, "prev", ROW) != base
    assert row_mac(b"k" * 32, "prew", ROW) != base
    for i in range(len(ROW)):
        changed = list(ROW)
        changed[i] = "x" if changed[i] != "x" else "y"
        assert row_mac(b"k" * 32, "prev", changed) != base, i


def _create_at_once(path: Path, n: int) -> tuple[list[bytes], list[BaseException]]:
    barrier = threading.Barrier(n)
    keys: list[bytes] = []
    errors: list[BaseException] = []

    def create() -> None:
        barrier.wait()
        try:
            keys.append(load_or_create_key(path))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=create) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return keys, errors


def test_processes_creating_the_key_at_once_agree_on_one_and_never_read_it_half_written(tmp_path: Path) -> None:
    for round_ in range(20):
        path = tmp_path / f"r{round_}" / "audit.key"
        keys, errors = _create_at_once(path, 12)
        assert not errors and len(set(keys)) == 1 and len(keys[0]) == 32
        assert [p.name for p in path.parent.iterdir()] == ["audit.key"]  # no leftovers

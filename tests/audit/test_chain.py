"""The row MAC is plain HMAC-SHA256 over the previous MAC and the row, whatever the key length."""

from __future__ import annotations

import hashlib
import hmac

import msgspec
import pytest

from mcpwall.audit.chain import row_mac

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

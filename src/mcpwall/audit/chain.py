"""The HMAC-SHA256 chain that makes the audit log tamper-evident, and its key.

Each row's MAC covers its sequence number, every stored column and the previous row's MAC,
so a changed, deleted, inserted or reordered row breaks the chain at that row. The first
row links to a genesis value derived from the chain id, so deleting the oldest rows shows
too; a head record (last sequence and MAC) exposes deleted newest rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from ..errors import AuditError


def genesis(key: bytes, chain_id: str) -> str:
    return hmac.new(key, f"mcpwall-audit-genesis:{chain_id}".encode(), hashlib.sha256).hexdigest()


_encoder = msgspec.json.Encoder()


_BLOCK = 64  # SHA-256's block size
_pads: dict[bytes, tuple[Any, Any]] = {}


def _keyed(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states with the HMAC inner and outer pads of ``key`` already absorbed (RFC 2104).

    Copying a prepared state is about twice as fast as building an HMAC per row, which
    costs an OpenSSL key set-up each time; the result is the same HMAC-SHA256.
    """
    pads = _pads.get(key)
    if pads is None:
        k = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
        k = k.ljust(_BLOCK, b"\0")
        pads = (hashlib.sha256(bytes(b ^ 0x36 for b in k)), hashlib.sha256(bytes(b ^ 0x5C for b in k)))
        if len(_pads) > 16:
            _pads.clear()
        _pads[key] = pads
    return pads


def chain_rows(key: bytes, prev_mac: str, rows: list[list[Any]], first_seq: int) -> str:
    """Number and chain ``rows`` (column lists; the sequence number is the first column):
    each gets its seq, then the previous MAC and its own MAC appended, exactly as
    :func:`row_mac` computes them. Returns the last MAC. One loop for a whole group,
    because the writer chains every row mcpwall records."""
    inner, outer = _keyed(key)
    encode = _encoder.encode
    seq = first_seq
    for fields in rows:
        fields[0] = seq
        h = inner.copy()
        h.update(prev_mac.encode("ascii") + b"\x1f" + encode(fields))
        o = outer.copy()
        o.update(h.digest())
        mac: str = o.hexdigest()
        fields.append(prev_mac)
        fields.append(mac)
        prev_mac = mac
        seq += 1
    return prev_mac


def row_mac(key: bytes, prev_mac: str, fields: Sequence[Any]) -> str:
    """HMAC of the previous MAC and the row's columns, as compact JSON (UTF-8, shortest floats)."""
    body = _encoder.encode(fields)  # a list and a tuple encode alike: a JSON array
    inner, outer = _keyed(key)
    h = inner.copy()
    h.update(prev_mac.encode("ascii"))
    h.update(b"\x1f")
    h.update(body)
    o = outer.copy()
    o.update(h.digest())
    return o.hexdigest()  # type: ignore[no-any-return]


def parse_key(text: str) -> bytes:
    text = text.strip()
    if len(text) >= 32 and all(c in "0123456789abcdefABCDEF" for c in text) and len(text) % 2 == 0:
        return bytes.fromhex(text)
    if len(text) < 16:
        raise AuditError("the audit key must be at least 16 characters (or 32 hex digits)")
    return text.encode("utf-8")


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, creating it (32 random bytes, hex, mode 0600) on first use."""
    try:
        return parse_key(path.read_text(encoding="ascii"))
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as e:
        raise AuditError(f"cannot read audit key {path}: {e}") from None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written under a private name, then published with a hard link, which fails if the
    # key exists: several mcpwall processes starting at once agree on one key, and none
    # can read a key file that is still empty.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another mcpwall published its key first: use that one
        except OSError:
            if not path.exists():  # a file system without hard links: an atomic rename will do
                os.replace(tmp, path)
    except OSError as e:
        raise AuditError(f"cannot create audit key {path}: {e.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return parse_key(path.read_text(encoding="ascii"))


def key_is_private(path: Path) -> bool:
    """True unless the key file is readable by group or others (POSIX only)."""
    if os.name != "posix":
        return True
    try:
        mode = path.stat().st_mode
    except OSError:
        return True
    return not (mode & (stat.S_IRWXG | stat.S_IRWXO))

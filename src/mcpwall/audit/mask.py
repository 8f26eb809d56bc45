"""Masking of secrets and personal data in frames before they are stored.

Two sources of what to hide: values under keys that name credentials (``password``,
``apiKey``, ``Authorization`` ...), and the spans that detectors reported as ``secrets``
or ``pii``. The stored text keeps the message's shape so the log stays readable.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import itertools
import re
import threading
from collections.abc import Iterable
from typing import Any

from ..frame import encode
from ..redaction import redact_field
from ..verdict import Finding

MASKED_CATEGORIES = frozenset({"secrets", "pii"})

# Words that hint at a credential somewhere in a frame: only such frames are decoded and
# walked key by key. Hyperscan (ASCII-caseless, like ``bytes.lower``) finds them in about
# 1 us whatever the size; the regex below, over the lower-cased bytes, is the fallback
# (a case-insensitive alternation is ~50x slower still) and costs 5-10 us per KB.
_HINT_WORDS = (b"pass", b"secret", b"token", b"key", b"auth", b"cookie", b"credential", b"bearer", b"pwd")
_HINTS = re.compile(b"|".join(_HINT_WORDS))
_EXACT = frozenset({
    "pass", "password", "passwd", "passphrase", "pwd", "secret", "token", "apikey", "authorization",
    "cookie", "setcookie", "credential", "credentials", "bearer", "sessionid", "privatekey",
})
_SUFFIXES = ("password", "passwd", "secret", "apikey", "accesskey", "secretkey", "privatekey",
             "credential", "credentials", "authtoken", "accesstoken", "refreshtoken", "idtoken",
             "apitoken", "bearertoken", "sessiontoken", "clientsecret")
MASK = "***"


def sensitive_key(key: str) -> bool:
    norm = key.lower().replace("-", "").replace("_", "")
    return norm in _EXACT or norm.endswith(_SUFFIXES)


def _mask_keys(value: Any) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            for k, c in v.items():
                if isinstance(c, (str, int, float)) and not isinstance(c, bool) and sensitive_key(k):
                    v[k] = MASK
                elif isinstance(c, (dict, list)):
                    stack.append(c)
        elif isinstance(v, list):
            stack.extend(c for c in v if isinstance(c, (dict, list)))


def _mask_spans(obj: Any, findings: Iterable[Finding]) -> None:
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        if f.category in MASKED_CATEGORIES and f.path:
            by_path.setdefault(f.path, []).append(f)
    for path, group in by_path.items():
        # A finding without a span, or with one in a decoded view of the field (a base64
        # blob), hides the whole field: its span does not point into the stored text.
        whole = any(f.span is None or "decoded" in f.extra for f in group)
        spans = None if whole else [(*f.span, f"[{f.category} masked]") for f in group if f.span]
        redact_field(obj, path, spans, f"[{group[0].category} masked]")


class _Hints:
    """One Hyperscan database of the hint words; a scratch per thread (the audit writer and
    the event loop both mask frames)."""

    def __init__(self, hs: Any) -> None:
        self._hs = hs
        self._db = self._compile(hs.HS_FLAG_CASELESS | hs.HS_FLAG_SINGLEMATCH)
        self._every = self._compile(hs.HS_FLAG_CASELESS)  # for many frames at once
        self._local = threading.local()

    def _compile(self, flags: int) -> Any:
        db = self._hs.Database(mode=self._hs.HS_MODE_BLOCK)
        db.compile(expressions=list(_HINT_WORDS), ids=list(range(len(_HINT_WORDS))),
                   elements=len(_HINT_WORDS), flags=[flags] * len(_HINT_WORDS))
        return db

    def search_many(self, raws: list[bytes]) -> set[int]:
        """Indexes of the frames holding a hint word: one scan over all of them (joined by
        NUL bytes, which no hint word contains), not one call per frame."""
        scratch = getattr(self._local, "every", None)
        if scratch is None:
            scratch = self._local.every = self._hs.Scratch(self._every)
        ends = list(itertools.accumulate(len(r) + 1 for r in raws))
        found: set[int] = set()

        def hit(_id: int, _start: int, end: int, _flags: int, _ctx: Any) -> None:
            found.add(bisect.bisect_left(ends, end))

        self._every.scan(b"\0".join(raws), match_event_handler=hit, scratch=scratch)
        return found

    def search(self, raw: bytes) -> bool:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hs.Scratch(self._db)
        found = False

        def hit(*_: Any) -> bool:
            nonlocal found
            found = True
            return True  # stop at the first hint

        with contextlib.suppress(self._hs.ScanTerminated):
            self._db.scan(raw, match_event_handler=hit, scratch=scratch)
        return found


def _hint_scanner() -> _Hints | None:
    try:
        import hyperscan
    except ImportError:  # pragma: no cover - platforms without the wheel use the regex
        return None
    try:
        return _Hints(hyperscan)
    except Exception:  # pragma: no cover - a CPU Hyperscan does not support
        return None


_SCANNER = _hint_scanner()


def may_hold_credentials(raw: bytes) -> bool:
    if _SCANNER is not None:
        return _SCANNER.search(raw)
    return _HINTS.search(raw.lower()) is not None


def frames_with_hints(raws: list[bytes]) -> set[int]:
    """Which of these frames :func:`may_hold_credentials` (indexes into ``raws``)."""
    if _SCANNER is not None and raws:
        return _SCANNER.search_many(raws)
    return {i for i, raw in enumerate(raws) if _HINTS.search(raw.lower()) is not None}


def mask_frame(raw: bytes, obj: Any, findings: list[Finding]) -> str:
    """The text to store for a frame: the raw text when nothing needs hiding."""
    needs_spans = any(f.category in MASKED_CATEGORIES for f in findings)
    if obj is None or (not needs_spans and not may_hold_credentials(raw)):
        return raw.decode("utf-8", "replace")
    masked = copy.deepcopy(obj)
    if needs_spans:
        _mask_spans(masked, findings)
    _mask_keys(masked)
    return encode(masked).decode("utf-8", "replace")

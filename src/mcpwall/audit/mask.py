"""Masking of secrets and personal data in frames before they are stored.

Two sources of what to hide: values under keys that name credentials (``password``,
``apiKey``, ``Authorization`` ...), and the spans that detectors reported as ``secrets``
or ``pii``. The stored text keeps the message's shape so the log stays readable.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from .. import jsonpath
from ..frame import encode
from ..verdict import Finding

MASKED_CATEGORIES = frozenset({"secrets", "pii"})

# Searched in the lower-cased bytes: a case-insensitive alternation is ~50x slower.
_HINTS = re.compile(rb"pass|secret|token|key|auth|cookie|credential|bearer|pwd")
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
        try:
            text = jsonpath.get(obj, path)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if not isinstance(text, str):
            continue
        # A finding without a span, or with one in a decoded view of the field (a base64
        # blob), hides the whole field: its span does not point into the stored text.
        if any(f.span is None or "decoded" in f.extra for f in group):
            jsonpath.replace_string(obj, path, f"[{group[0].category} masked]")
            continue
        # Overlapping spans (two rules on one value) are merged, each masked once.
        merged: list[list[Any]] = []
        for f in sorted(group, key=lambda f: f.span or (0, 0)):
            start, end = f.span or (0, 0)
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end, f.category])
        for start, end, category in reversed(merged):
            text = f"{text[:start]}[{category} masked]{text[end:]}"
        jsonpath.replace_string(obj, path, text)


def _may_hold_credentials(raw: bytes) -> bool:
    return _HINTS.search(raw.lower()) is not None


def mask_frame(raw: bytes, obj: Any, findings: list[Finding]) -> str:
    """The text to store for a frame: the raw text when nothing needs hiding."""
    needs_spans = any(f.category in MASKED_CATEGORIES for f in findings)
    if obj is None or (not needs_spans and not _may_hold_credentials(raw)):
        return raw.decode("utf-8", "replace")
    masked = copy.deepcopy(obj)
    if needs_spans:
        _mask_spans(masked, findings)
    _mask_keys(masked)
    return encode(masked).decode("utf-8", "replace")

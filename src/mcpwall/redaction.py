"""Replacing parts of strings inside a message: one primitive for every kind of redaction.

Audit masking (what is stored), the policy's ``redact`` action and the detection default
actions (what is forwarded) all hide located text the same way: spans of one field are
merged where they overlap and each merged run is replaced once, from the end, so earlier
offsets stay valid; a field whose spans are unknown is replaced whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import jsonpath

Span = tuple[int, int, str]  # start, end, the text that replaces it


def splice(text: str, spans: Iterable[Span]) -> str:
    """``text`` with every span replaced by its label; overlapping spans keep the first label."""
    merged: list[Span] = []
    for start, end, label in sorted(spans):
        if merged and start < merged[-1][1]:
            s, e, lab = merged[-1]
            merged[-1] = (s, max(e, end), lab)
        else:
            merged.append((start, end, label))
    for start, end, label in reversed(merged):
        text = f"{text[:start]}{label}{text[end:]}"
    return text


def redact_field(obj: Any, path: str, spans: Iterable[Span] | None, whole: str) -> bool:
    """Hide the spans of the string at ``path`` (or all of it, as ``whole``, when ``spans`` is
    None), changing ``obj`` in place. False when there is no string at ``path``."""
    try:
        text = jsonpath.get(obj, path)
    except (KeyError, IndexError, TypeError, ValueError):
        return False
    if not isinstance(text, str):
        return False
    return jsonpath.replace_string(obj, path, whole if spans is None else splice(text, spans))

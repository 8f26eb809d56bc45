"""Response budgets: cutting an oversized result down while keeping it a valid JSON-RPC answer.

A tool result keeps its shape (``content`` is a list of content blocks, ``isError`` stays):
text blocks are kept in order and the last one that fits is cut on a character boundary,
blocks that do not fit (images, audio, embedded resources) are dropped, ``structuredContent``
goes when it does not fit, and a final text block says what was cut. A ``resources/read``
result is cut the same way in ``contents``. Anything else cannot be cut meaningfully and is
replaced by an error instead.
"""

from __future__ import annotations

from typing import Any

from ..frame import encode

NOTE = "[mcpwall: response truncated from {size} to at most {limit} bytes by the response budget]"


def _size(obj: Any) -> int:
    return len(encode(obj))


def _cut_text(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max(0, max_bytes)].decode("utf-8", "ignore")


def truncate(message: dict[str, Any], limit: int, size: int) -> dict[str, Any] | None:
    """A copy of ``message`` (a response) cut to about ``limit`` bytes, or None if it cannot be cut."""
    result = message.get("result")
    if not isinstance(result, dict):
        return None
    if isinstance(result.get("content"), list):
        field, text_key = "content", "text"
    elif isinstance(result.get("contents"), list):
        field, text_key = "contents", "text"
    else:
        return None
    note_text = NOTE.format(size=size, limit=limit)
    note: dict[str, Any] = {"type": "text", "text": note_text} if field == "content" else {
        "uri": "mcpwall:truncated", "mimeType": "text/plain", "text": note_text}
    new_result = {k: v for k, v in result.items() if k not in (field, "structuredContent")}
    skeleton = {**message, "result": {**new_result, field: [note]}}
    room = limit - _size(skeleton)
    if room < 0:
        return skeleton
    structured = result.get("structuredContent")
    if structured is not None:
        s = _size(structured) + len('"structuredContent":,')
        if s <= room:
            new_result["structuredContent"] = structured
            room -= s
    kept: list[Any] = []
    for block in result[field]:
        if room <= 0:
            break
        cost = _size(block) + 1
        if cost <= room:
            kept.append(block)
            room -= cost
            continue
        if isinstance(block, dict) and isinstance(block.get(text_key), str):
            text = block[text_key]
            overhead = _size({**block, text_key: ""}) + 1
            # JSON escaping can grow text (quotes, control characters): shrink until it fits.
            budget = room - overhead
            while budget > 0:
                cut = {**block, text_key: _cut_text(text, budget)}
                extra = _size(cut) + 1 - room
                if extra <= 0:
                    kept.append(cut)
                    room = 0
                    break
                budget -= max(extra, 16)
        # A block that cannot be cut (an image ...) is dropped.
    new_result[field] = [*kept, note]
    return {**message, "result": new_result}

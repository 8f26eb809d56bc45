"""JSON paths for fields inside a message: ``$.params.arguments.cmd``, ``$.result.content[0].text``.

Keys that are not plain identifiers are written as ``["a key"]``. A trailing ``#key``
means the object key itself rather than its value. Findings carry these paths so that
redaction and masking can find the field again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]*")
_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _SIMPLE_KEY.fullmatch(key) else f"{path}[{json.dumps(key)}]"


def parse(path: str) -> tuple[list[str | int], bool]:
    """Split a path into its steps; the flag says the path names a key (``#key``)."""
    is_key = path.endswith("#key")
    if is_key:
        path = path[:-4]
    if not path.startswith("$"):
        raise ValueError(f"JSON path must start with $: {path!r}")
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            raise ValueError(f"bad JSON path {path!r} at {pos}")
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(int(m.group(2)))
        else:
            steps.append(json.loads(m.group(3)))
        pos = m.end()
    return steps, is_key


def get(obj: Any, path: str) -> Any:
    steps, is_key = parse(path)
    cur = obj
    for s in steps:
        cur = cur[s]
    return steps[-1] if is_key and steps else cur


def replace_string(obj: Any, path: str, new: str) -> bool:
    """Replace the string at ``path`` in place (a key is renamed). False if it is not there."""
    steps, is_key = parse(path)
    if not steps:
        return False
    try:
        parent = obj
        for s in steps[:-1]:
            parent = parent[s]
        last = steps[-1]
        if is_key:
            if not isinstance(parent, dict) or not isinstance(last, str) or last not in parent:
                return False
            items = [((new if k == last else k), v) for k, v in parent.items()]
            parent.clear()
            parent.update(items)
            return True
        if not isinstance(parent[last], str):
            return False
        parent[last] = new
        return True
    except (KeyError, IndexError, TypeError):
        return False


def strings(value: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value, object keys included (as ``path#key``), in document order."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, c in value.items():
            p = child(path, k)
            yield f"{p}#key", k
            yield from strings(c, p)
    elif isinstance(value, list):
        for i, c in enumerate(value):
            yield from strings(c, f"{path}[{i}]")

"""Which strings of a JSON-RPC message a model can see, where they are, and who wrote them.

The detectors need every model-visible string with its JSON path (so a finding can be
located, redacted or masked) and its role, because the same words mean different things in
different places: ``tool_description`` for server metadata the model reads as instructions
(tool, prompt and resource lists with every string of their schemas, ``instructions`` and
server info from ``initialize``), ``response`` for content a server sends (results, errors,
log notifications, sampling and elicitation requests), ``request`` for content a client
sends (``tools/call`` arguments, keys included, and anything else in client messages).

Nothing is skipped by shape: an unknown method or field is still walked, every string and
every object key included, so a server cannot hide text in a place mcpwall does not know.
Base64 ``blob`` contents that decode to text are inspected as text. A string that is not
inspected (binary data, or longer than the limit) is listed as *uninspected* with the
reason, so callers never mistake it for clean.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..frame import Direction
from ..jsonpath import child

TOOL_DESCRIPTION = "tool_description"
REQUEST = "request"
RESPONSE = "response"

DEFAULT_MAX_FIELD_CHARS = 8 * 1024 * 1024
# Results of these methods describe capabilities: what the model reads as instructions.
_CATALOGUE_METHODS = frozenset(
    {"tools/list", "prompts/list", "resources/list", "resources/templates/list", "initialize"}
)
# Fields holding base64 data; decoded when it is text.
_BLOB_KEYS = frozenset({"blob"})
_MEDIA_TYPES = frozenset({"image", "audio"})
_DIRECTIONS = {"c2s": Direction.C2S, "s2c": Direction.S2C, "request": Direction.C2S, "response": Direction.S2C}


class Field(NamedTuple):
    """One string a model can see, at ``path``. ``decoded`` names how ``text`` was
    obtained from the wire value (``"base64"`` for a blob), empty when it is the value."""

    path: str
    text: str
    role: str
    is_key: bool = False
    decoded: str = ""


def _step_path(parent: str, step: str | int | None, is_key: bool) -> str:
    if step is None:
        p = parent
    elif isinstance(step, int):
        p = f"{parent}[{step}]"
    else:
        p = f"{parent}.{step}" if step.isascii() and step.isidentifier() else child(parent, step)
    return p + "#key" if is_key else p


@dataclass(slots=True)
class Extraction:
    """The strings to inspect, as parallel lists (one entry per string), and
    ``(path, reason)`` for strings that were not inspected.

    Paths are kept as (parent path, last step, is key, decoding) and spelled out only on
    demand by :meth:`path`, because most strings never need theirs.
    """

    texts: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    where: list[tuple[str, str | int | None, bool, str]] = field(default_factory=list)
    uninspected: list[tuple[str, str]] = field(default_factory=list)

    def add(self, text: str, role: str, parent: str, step: str | int | None = None, is_key: bool = False,
            decoded: str = "") -> None:
        self.texts.append(text)
        self.roles.append(role)
        self.where.append((parent, step, is_key, decoded))

    def path(self, i: int) -> str:
        parent, step, is_key, _ = self.where[i]
        return _step_path(parent, step, is_key)

    def field(self, i: int) -> Field:
        w = self.where[i]
        return Field(_step_path(w[0], w[1], w[2]), self.texts[i], self.roles[i], w[2], w[3])

    @property
    def fields(self) -> list[Field]:
        return [self.field(i) for i in range(len(self.texts))]

    @classmethod
    def of(cls, flds: list[Field]) -> Extraction:
        out = cls()
        for f in flds:
            path = f.path.removesuffix("#key") if f.is_key else f.path
            out.add(f.text, f.role, path, None, f.is_key, f.decoded)
        return out

    def is_key(self, i: int) -> bool:
        return self.where[i][2]

    def decoded(self, i: int) -> str:
        return self.where[i][3]


def role_of(direction: Direction | str, method: str | None, *, is_reply: bool) -> str:
    """The role of content in a message: who wrote it and how the model reads it."""
    d = direction if isinstance(direction, Direction) else _DIRECTIONS.get(direction) or Direction.parse(direction)
    if d is Direction.C2S:
        return REQUEST
    if is_reply and method in _CATALOGUE_METHODS:
        return TOOL_DESCRIPTION
    return RESPONSE


_CONTROLS = {c: " " for c in [*range(32), 127] if chr(c) not in "\t\n\r\f"}
_CONTROLS[0xFFFD] = " "


def _blob_bytes(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            return None


def _decode_blob(value: str) -> tuple[str, str] | None:
    """(text, how) of a base64 blob, or None when it does not decode or is real binary data.

    ``how`` is ``"base64"`` for UTF-8 text (spans found in it point into the decoded text),
    or ``"base64-binary"`` for text with stray control characters or invalid bytes: one
    control byte in front of a sentence must not hide it from the detectors, so such a blob
    is read as text with those bytes as spaces (a finding in it hides the whole blob). Data
    that is mostly not text (images, archives) is left alone.
    """
    raw = _blob_bytes(value)
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
        clean = False
    else:
        if not text:
            return text, "base64"
        controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f")
        clean = controls * 100 <= len(text)
    if clean:
        return text, "base64"
    view = text.translate(_CONTROLS)
    noise = len(text) - sum(1 for a, b in zip(text, view, strict=True) if a == b)
    return (view, "base64-binary") if noise * 5 <= len(text) else None


def extract(
    obj: Any,
    direction: Direction | str,
    method: str | None = None,
    *,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
) -> Extraction:
    """Every model-visible string of a decoded JSON-RPC message.

    ``method`` is the message's method, or for a response the method of the request it
    answers. Strings come in document order; an object key comes right before its value.
    """
    out = Extraction()
    if not isinstance(obj, dict):
        _walk(obj, "$", role_of(direction, method, is_reply=True), out, max_field_chars)
        return out
    is_reply = "method" not in obj
    role = role_of(direction, method, is_reply=is_reply)
    for key, value in obj.items():
        if key in ("jsonrpc", "id", "method"):
            continue
        if key == "error" and role == TOOL_DESCRIPTION:
            # An error is not a catalogue: the server wrote it as a response.
            _walk(value, "$.error", RESPONSE, out, max_field_chars)
        else:
            # Unknown top-level members (a misbehaving peer may add any) are visible too.
            if key not in ("params", "result", "error"):
                out.add(key, role, "$", key, True)
            _walk(value, _step_path("$", key, False), role, out, max_field_chars)
    return out


_MAX_NESTING = 256


def _walk(value: Any, path: str, role: str, out: Extraction, limit: int) -> None:
    texts = out.texts
    roles = out.roles
    where = out.where
    uninspected = out.uninspected

    def rec(v: Any, p: str, depth: int) -> None:
        if depth > _MAX_NESTING:
            uninspected.append((p, f"nested deeper than {_MAX_NESTING}"))
            return
        if isinstance(v, dict):
            kind = v.get("type")
            media = isinstance(kind, str) and kind in _MEDIA_TYPES and isinstance(v.get("data"), str)
            for k, c in v.items():
                # Keys are model-visible too (argument names, schema property names).
                if len(k) > limit:
                    uninspected.append((_step_path(p, k, True), f"longer than {limit} characters"))
                else:
                    texts.append(k)
                    roles.append(role)
                    where.append((p, k, True, ""))
                if isinstance(c, str):
                    if k in _BLOB_KEYS:
                        _blob(c, _step_path(p, k, False), role, out, limit)
                    elif media and k == "data":
                        uninspected.append((_step_path(p, k, False), f"binary {v.get('type')} data"))
                    elif len(c) > limit:
                        uninspected.append((_step_path(p, k, False), f"longer than {limit} characters"))
                    else:
                        texts.append(c)
                        roles.append(role)
                        where.append((p, k, False, ""))
                elif isinstance(c, (dict, list)):
                    rec(c, _step_path(p, k, False), depth + 1)
        elif isinstance(v, list):
            for i, c in enumerate(v):
                if isinstance(c, str):
                    if len(c) > limit:
                        uninspected.append((f"{p}[{i}]", f"longer than {limit} characters"))
                    else:
                        texts.append(c)
                        roles.append(role)
                        where.append((p, i, False, ""))
                elif isinstance(c, (dict, list)):
                    rec(c, f"{p}[{i}]", depth + 1)
        elif isinstance(v, str):
            if len(v) > limit:
                uninspected.append((p, f"longer than {limit} characters"))
            else:
                out.add(v, role, p)

    rec(value, path, 0)


def _blob(value: str, path: str, role: str, out: Extraction, limit: int) -> None:
    if len(value) > limit * 4 // 3 + 4:
        out.uninspected.append((path, f"longer than {limit} characters"))
        return
    decoded = _decode_blob(value)
    if decoded is None:
        out.uninspected.append((path, "binary data"))
        return
    text, how = decoded
    out.add(text, role, path, None, False, how)

"""Frames: one JSON-RPC message as it crossed the wire, decoded strictly.

Every transport turns bytes into ``Frame`` objects. A frame keeps its original bytes, which
are what mcpwall forwards unless a verdict changes the message. Decoding is strict where
JSON and JSON-RPC are strict, and bounded: invalid UTF-8, lone surrogates, NaN/Infinity,
duplicate object keys, nesting deeper than ``max_depth`` and ids that are not an integer
or a string are all rejected with a :class:`~mcpwall.errors.ProtocolError` that carries the
JSON-RPC code to answer with.

Ids keep their JSON type: ``1`` and ``"1"`` are different requests; :func:`id_key` gives a
hashable key that never confuses them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import msgspec

from .errors import INVALID_REQUEST, PARSE_ERROR, FrameTooLarge, ProtocolError

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64

MsgId = int | str
IdKey = tuple[bool, int | str]
_UNKNOWN: Any = object()


class Direction(StrEnum):
    C2S = "c2s"  # client -> server
    S2C = "s2c"  # server -> client

    @property
    def reverse(self) -> Direction:
        return Direction.S2C if self is Direction.C2S else Direction.C2S

    @classmethod
    def parse(cls, text: str) -> Direction:
        aliases = {
            "c2s": cls.C2S, "client": cls.C2S, "in": cls.C2S, "request": cls.C2S,
            "client_to_server": cls.C2S, "s2c": cls.S2C, "server": cls.S2C, "out": cls.S2C,
            "response": cls.S2C, "server_to_client": cls.S2C,
        }
        try:
            return aliases[text.strip().lower().replace("-", "_")]
        except KeyError:
            raise ValueError(f"unknown direction {text!r}; use c2s or s2c") from None


class Kind(StrEnum):
    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"
    ERROR = "error"


def id_key(msg_id: MsgId) -> IdKey:
    """A dictionary key for a request id that keeps ``1`` and ``"1"`` apart."""
    return (isinstance(msg_id, str), msg_id)


@dataclass(slots=True, eq=False)
class Frame:
    """One JSON-RPC message.

    ``raw`` is the exact bytes received (without the transport's delimiter). ``obj`` is the
    decoded message. For responses, ``request`` is the request frame it answers and
    ``method`` is that request's method, so inspectors can route responses by method.
    ``transport`` holds adapter details (HTTP headers, stream, SSE event id ...).
    """

    raw: bytes
    obj: dict[str, Any]
    kind: Kind
    direction: Direction
    id: MsgId | None = None
    method: str | None = None
    request: Frame | None = None
    transport: dict[str, Any] = field(default_factory=dict)
    _tool: Any = field(default=_UNKNOWN, repr=False)  # ``tool``, once worked out

    @property
    def params(self) -> dict[str, Any]:
        p = self.obj.get("params")
        return p if isinstance(p, dict) else {}

    @property
    def result(self) -> Any:
        return self.obj.get("result")

    @property
    def tool(self) -> str | None:
        """The tool name of a ``tools/call`` request, or of the request a response answers."""
        tool = self._tool
        if tool is not _UNKNOWN:
            return tool  # type: ignore[no-any-return]
        src = self.request if self.kind in (Kind.RESPONSE, Kind.ERROR) else self
        if src is None:
            return None  # not linked to its request yet: nothing to remember
        name = src.params.get("name") if src.method == "tools/call" else None
        self._tool = tool = name if isinstance(name, str) else None
        return tool

    @property
    def is_reply(self) -> bool:
        return self.kind in (Kind.RESPONSE, Kind.ERROR)

    def with_obj(self, obj: dict[str, Any]) -> Frame:
        """A copy carrying a changed message, re-encoded."""
        return Frame(
            raw=encode(obj),
            obj=obj,
            kind=self.kind,
            direction=self.direction,
            id=self.id,
            method=self.method,
            request=self.request,
            transport=self.transport,
        )


# --- strict decoding -------------------------------------------------------------------

_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")
_ID_PEEK = re.compile(rb'"id"\s*:\s*(-?\d{1,19}(?![\d.eE])|"(?:[^"\\]|\\.){0,200}")')


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise ValueError(f"duplicate key {k!r} in object")
            seen.add(k)
    return obj


_decoder = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_reject_constant)


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            return True
        if isinstance(v, dict):
            stack.extend((c, d + 1) for c in v.values() if isinstance(c, (dict, list)))
        elif isinstance(v, list):
            stack.extend((c, d + 1) for c in v if isinstance(c, (dict, list)))
    return False


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, dict):
            for k, c in v.items():
                stack.append(k)
                stack.append(c)
        elif isinstance(v, list):
            stack.extend(v)
    return False


def peek_id(raw: bytes) -> MsgId | None:
    """Best-effort id of a message that could not be decoded, so its sender gets an answer."""
    m = _ID_PEEK.search(raw, 0, 65536)
    if not m:
        return None
    tok = m.group(1)
    try:
        val = json.loads(tok)
    except ValueError:
        return None
    if isinstance(val, str) and not _encodable(val):
        return None  # a lone surrogate: it cannot be sent back as UTF-8, so answer with a null id
    return val if isinstance(val, (int, str)) and not isinstance(val, bool) else None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_fast_decoder = msgspec.json.Decoder()


def _shape(value: Any) -> tuple[int, int]:
    """(number of object keys, nesting depth) of a decoded object or array, level by level."""
    keys = 0
    depth = 0
    level: list[Any] = [value]
    while level:
        depth += 1
        below: list[Any] = []
        for v in level:
            if type(v) is dict:
                keys += len(v)
                children: Any = v.values()
            else:
                children = v
            for c in children:
                t = type(c)
                if t is dict or t is list:
                    below.append(c)
        level = below
    return keys, depth


def _strict(raw: bytes, max_depth: int) -> Any:
    """The exact path: stdlib JSON with a duplicate-key hook, and precise error messages."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError(f"invalid UTF-8 at byte {e.start}", PARSE_ERROR, peek_id(raw)) from None
    try:
        value = _decoder.decode(text)
    except RecursionError:
        raise ProtocolError(f"JSON nesting deeper than {max_depth}", PARSE_ERROR, peek_id(raw)) from None
    except ValueError as e:
        raise ProtocolError(f"invalid JSON: {e}", PARSE_ERROR, peek_id(raw)) from None
    if (raw.count(b"{") + raw.count(b"[")) > max_depth and _depth_exceeds(value, max_depth):
        raise ProtocolError(f"JSON nesting deeper than {max_depth}", PARSE_ERROR, peek_id(raw))
    if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(value):
        raise ProtocolError("invalid JSON: lone UTF-16 surrogate in a string", PARSE_ERROR, peek_id(raw))
    return value


def parse_json(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Decode JSON bytes strictly and within limits; raise ProtocolError(-32700) otherwise.

    The fast path is msgspec, which rejects invalid UTF-8, lone surrogates and NaN itself
    but silently keeps the last of duplicate keys. Every key is followed by exactly one
    colon outside strings, so when the raw bytes hold no more colons than the decoded
    objects have keys, no key can have been dropped. Anything else (colons inside strings,
    any error) takes the exact stdlib path, which also words the errors.
    """
    if len(raw) > max_bytes:
        raise FrameTooLarge(len(raw), max_bytes, peek_id(raw))
    try:
        value = _fast_decoder.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
        return _strict(raw, max_depth)
    if not isinstance(value, (dict, list)):
        return value
    keys, depth = _shape(value)
    if keys != raw.count(b":"):
        return _strict(raw, max_depth)
    if depth > max_depth:
        raise ProtocolError(f"JSON nesting deeper than {max_depth}", PARSE_ERROR, peek_id(raw))
    return value


def _valid_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def classify(obj: Any, raw: bytes, direction: Direction) -> Frame:
    """Check one decoded JSON-RPC message and wrap it in a Frame."""
    if not isinstance(obj, dict):
        raise ProtocolError("a JSON-RPC message must be an object", INVALID_REQUEST)
    raw_id = obj.get("id")
    msg_id = raw_id if _valid_id(raw_id) else None
    if obj.get("jsonrpc") != "2.0":
        raise ProtocolError('"jsonrpc" must be "2.0"', INVALID_REQUEST, msg_id)
    method = obj.get("method")
    if method is not None:
        if not isinstance(method, str) or not method:
            raise ProtocolError('"method" must be a non-empty string', INVALID_REQUEST, msg_id)
        params = obj.get("params")
        if params is not None and not isinstance(params, (dict, list)):
            raise ProtocolError('"params" must be an object', INVALID_REQUEST, msg_id)
        if "result" in obj or "error" in obj:
            raise ProtocolError("a request cannot carry result or error", INVALID_REQUEST, msg_id)
        if "id" not in obj:
            return Frame(raw, obj, Kind.NOTIFICATION, direction, None, method)
        if not _valid_id(raw_id):
            raise ProtocolError(
                f"request id must be an integer or a string, not {_json_type(raw_id)}", INVALID_REQUEST
            )
        return Frame(raw, obj, Kind.REQUEST, direction, raw_id, method)
    has_result, has_error = "result" in obj, "error" in obj
    if has_result == has_error:
        raise ProtocolError(
            "a message needs a method (request/notification) or exactly one of result and error",
            INVALID_REQUEST,
            msg_id,
        )
    if has_error:
        err = obj["error"]
        if not isinstance(err, dict) or not isinstance(err.get("code"), int) or isinstance(err.get("code"), bool):
            raise ProtocolError('"error" must be an object with an integer "code"', INVALID_REQUEST, msg_id)
        if not isinstance(err.get("message"), str):
            raise ProtocolError('"error.message" must be a string', INVALID_REQUEST, msg_id)
        if raw_id is None and "id" in obj:
            return Frame(raw, obj, Kind.ERROR, direction, None)
    if not _valid_id(raw_id):
        raise ProtocolError(
            f"response id must be an integer or a string, not {_json_type(raw_id)}", INVALID_REQUEST
        )
    return Frame(raw, obj, Kind.ERROR if has_error else Kind.RESPONSE, direction, raw_id)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def decode(
    raw: bytes,
    direction: Direction,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Frame | list[Any]:
    """Decode one wire message. A batch comes back as the decoded list, for the caller to split."""
    value = parse_json(raw, max_bytes=max_bytes, max_depth=max_depth)
    if isinstance(value, list):
        return value
    return classify(value, raw, direction)


# --- encoding --------------------------------------------------------------------------

_encoder = msgspec.json.Encoder()


def encode(obj: Any) -> bytes:
    """Compact JSON for a message mcpwall builds or changes."""
    try:
        return _encoder.encode(obj)
    except (OverflowError, TypeError):
        # msgspec refuses integers beyond 64 bits; the stdlib keeps them exact.
        pass
    except UnicodeEncodeError:
        # A lone surrogate (from a peer's own message quoted back): escaped, still valid JSON.
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_message(msg_id: MsgId | None, code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": msg_id, "error": err}


def result_message(msg_id: MsgId, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "result": result}

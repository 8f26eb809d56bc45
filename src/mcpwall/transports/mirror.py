"""HTTP headers that mirror fields of the JSON-RPC body (protocol 2026-07-28).

In the stateless era a request carries copies of body fields in headers so that
intermediaries can route without parsing JSON: ``MCP-Protocol-Version`` (the body's
``_meta`` protocol version), ``Mcp-Method``, ``Mcp-Name`` (the tool or prompt name or the
resource URI) and ``Mcp-Param-<token>`` for tool arguments whose input-schema property is
annotated with ``x-mcp-header``. The body is the truth: mcpwall inspects the body, refuses a
request whose headers disagree with it (HTTP 400, JSON-RPC -32020), and derives the headers
again from the body it forwards, so a verdict that changed a mirrored field can never leave
a stale header behind. Values that are not plain visible ASCII travel as
``=?base64?...?=``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

PROTOCOL_META_KEY = "io.modelcontextprotocol/protocolVersion"
VERSION = "mcp-protocol-version"
METHOD = "mcp-method"
NAME = "mcp-name"
PARAM_PREFIX = "mcp-param-"
ROUTING = frozenset({VERSION, METHOD, NAME})
# Which body parameter Mcp-Name mirrors, per method.
NAME_PARAMS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

_SAFE = re.compile(r"^[\x20-\x7e]*$")
_SENTINEL = re.compile(r"^=\?base64\?(.*)\?=$")


def encode_value(value: str) -> str:
    if _SAFE.match(value) and value == value.strip() and not _SENTINEL.match(value):
        return value
    return "=?base64?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def decode_value(value: str | None) -> str | None:
    """The header's text, unwrapping the base64 form; None when absent or malformed."""
    if value is None:
        return None
    m = _SENTINEL.match(value)
    if m is None:
        return value
    try:
        raw = base64.b64decode(m.group(1), validate=True)
        if base64.b64encode(raw).decode("ascii") != m.group(1):
            return None
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _render(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        try:
            return str(value)
        except ValueError:
            return None
    return None


def annotated(schema: Any) -> Iterator[tuple[tuple[str, ...], str, dict[str, Any]]]:
    """(property path, header token, property schema) for every ``x-mcp-header`` property.

    Only chains of ``properties`` are followed: a value reached through ``items`` or a
    combinator has no single place in the arguments, so it cannot be mirrored.
    """
    stack: list[tuple[tuple[str, ...], Any]] = [((), schema)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        token = node.get("x-mcp-header")
        if path and isinstance(token, str) and token:
            yield path, token, node
        props = node.get("properties")
        if isinstance(props, dict):
            for key, sub in props.items():
                stack.append(((*path, key), sub))


def _at(arguments: Any, path: tuple[str, ...]) -> Any:
    node = arguments
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _meta_version(body: Mapping[str, Any]) -> Any:
    params = body.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return meta.get(PROTOCOL_META_KEY) if isinstance(meta, dict) else None


def derive(body: Mapping[str, Any], tool_schema: Any = None) -> dict[str, str]:
    """The mirrored headers (lower-case names) a request with this body must carry."""
    out: dict[str, str] = {}
    version = _meta_version(body)
    if isinstance(version, str):
        out[VERSION] = version
    method = body.get("method")
    if isinstance(method, str):
        out[METHOD] = method
        key = NAME_PARAMS.get(method)
        params = body.get("params")
        if key and isinstance(params, dict):
            name = params.get(key)
            if isinstance(name, str):
                out[NAME] = encode_value(name)
        if method == "tools/call" and tool_schema is not None and isinstance(params, dict):
            args = params.get("arguments")
            for path, token, _ in annotated(tool_schema):
                rendered = _render(_at(args, path))
                if rendered is not None:
                    out[PARAM_PREFIX + token.lower()] = encode_value(rendered)
    return out


def mismatch(body: Mapping[str, Any], headers: Mapping[str, str], tool_schema: Any = None) -> str | None:
    """Why the headers disagree with the body, or None when they agree.

    ``headers`` are lower-case names. Param headers are checked against the tool's input
    schema when mcpwall knows it; without a schema a param header cannot be checked.
    """
    version = _meta_version(body)
    if headers.get(VERSION) != version:
        return "MCP-Protocol-Version header does not match the body's protocol version"
    method = body.get("method")
    if method is not None and headers.get(METHOD) != method:
        return "Mcp-Method header does not match the body's method"
    params = body.get("params")
    key = NAME_PARAMS.get(method) if isinstance(method, str) else None
    if key and isinstance(params, dict) and params.get(key) is not None and \
            decode_value(headers.get(NAME)) != params.get(key):
        return f"Mcp-Name header does not match the body's {key!r}"
    if method == "tools/call" and tool_schema is not None and isinstance(params, dict):
        args = params.get("arguments")
        for path, token, prop in annotated(tool_schema):
            header = PARAM_PREFIX + token.lower()
            raw = headers.get(header)
            value = _at(args, path)
            rendered = _render(value) if value is not None else None
            if rendered is None:
                if raw is not None:
                    return f"{header} header is present but the argument {'.'.join(path)!r} is not"
                continue
            if raw is None:
                return f"{header} header is missing for the argument {'.'.join(path)!r}"
            decoded = decode_value(raw)
            if decoded is None or not _same(prop.get("type"), value, rendered, decoded):
                return f"{header} header does not match the argument {'.'.join(path)!r}"
    return None


def _same(kind: Any, value: Any, rendered: str, decoded: str) -> bool:
    if kind == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool) \
            and re.fullmatch(r"-?\d+(\.0+)?", decoded):
        return int(decoded.split(".")[0]) == value
    return decoded == rendered

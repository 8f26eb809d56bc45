"""Strict decoding of wire messages: what is accepted, what is refused and with which code."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpwall.errors import INVALID_REQUEST, MESSAGE_TOO_LARGE, PARSE_ERROR, ProtocolError
from mcpwall.frame import Direction, Frame, Kind, decode, encode, id_key, parse_json, peek_id

C2S = Direction.C2S


@pytest.mark.parametrize(
    ("raw", "kind", "msg_id", "method"),
    [
        (b'{"jsonrpc":"2.0","id":0,"method":"ping"}', Kind.REQUEST, 0, "ping"),
        (b'{"jsonrpc":"2.0","id":"0","method":"ping"}', Kind.REQUEST, "0", "ping"),
        (b'{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"x"}', Kind.REQUEST,
         123456789012345678901234567890, "x"),
        (b'{"jsonrpc":"2.0","method":"notifications/initialized"}', Kind.NOTIFICATION, None,
         "notifications/initialized"),
        (b'{"jsonrpc":"2.0","id":7,"result":{}}', Kind.RESPONSE, 7, None),
        (b'{"jsonrpc":"2.0","id":"a","error":{"code":-1,"message":"no"}}', Kind.ERROR, "a", None),
        (b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}', Kind.ERROR, None, None),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{}},"extra":[1,2]}', Kind.REQUEST, 1, "x"),
        ('{"jsonrpc":"2.0","id":1,"method":"é \\ud83d\\ude00"}'.encode(), Kind.REQUEST, 1, "é 😀"),
    ],
)
def test_valid_messages_decode_with_their_kind_and_typed_id(raw: bytes, kind: Kind, msg_id: object,
                                                            method: str | None) -> None:
    frame = decode(raw, C2S)
    assert isinstance(frame, Frame)
    assert frame.kind is kind
    assert frame.id == msg_id and type(frame.id) is type(msg_id)
    assert frame.method == method
    assert frame.raw is raw


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        (b"not json", PARSE_ERROR, "invalid JSON"),
        (b'{"jsonrpc":"2.0","id":1,"method":"\xff"}', PARSE_ERROR, "UTF-8"),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"s":"\\ud800"}}', PARSE_ERROR, "surrogate"),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"s":"\\udc00x"}}', PARSE_ERROR, "surrogate"),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":NaN}}', PARSE_ERROR, "NaN"),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":-Infinity}}', PARSE_ERROR, "Infinity"),
        (b'{"jsonrpc":"2.0","id":1,"id":2,"method":"x"}', PARSE_ERROR, "duplicate key"),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":{"b":1,"b":2}}}', PARSE_ERROR, "duplicate key"),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":' + b"[" * 100 + b"]" * 100 + b"}", PARSE_ERROR, "nesting"),
        (b"[" * 5000 + b"]" * 5000, PARSE_ERROR, "nesting"),
        (b'{"jsonrpc":"2.0","id":true,"method":"x"}', INVALID_REQUEST, "boolean"),
        (b'{"jsonrpc":"2.0","id":1.0,"method":"x"}', INVALID_REQUEST, "fraction"),
        (b'{"jsonrpc":"2.0","id":1.5,"method":"x"}', INVALID_REQUEST, "fraction"),
        (b'{"jsonrpc":"2.0","id":{"a":1},"method":"x"}', INVALID_REQUEST, "object"),
        (b'{"jsonrpc":"2.0","id":null,"method":"x"}', INVALID_REQUEST, "null"),
        (b'{"jsonrpc":"1.0","id":1,"method":"x"}', INVALID_REQUEST, "jsonrpc"),
        (b'{"id":1,"method":"x"}', INVALID_REQUEST, "jsonrpc"),
        (b'{"jsonrpc":"2.0","id":1,"method":5}', INVALID_REQUEST, "method"),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":3}', INVALID_REQUEST, "params"),
        (b'{"jsonrpc":"2.0","id":1}', INVALID_REQUEST, "result and error"),
        (b'{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}', INVALID_REQUEST, "exactly one"),
        (b'{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}', INVALID_REQUEST, "code"),
        (b'{"jsonrpc":"2.0","id":true,"result":{}}', INVALID_REQUEST, "boolean"),
        (b'"just a string"', INVALID_REQUEST, "object"),
        (b"\xef\xbb\xbf{}", PARSE_ERROR, "JSON"),
    ],
)
def test_bad_input_is_refused_with_the_right_code(raw: bytes, code: int, fragment: str) -> None:
    with pytest.raises(ProtocolError) as exc:
        decode(raw, C2S)
    assert exc.value.code == code
    assert fragment.lower() in str(exc.value).lower()


def test_oversized_message_is_refused_and_keeps_its_id() -> None:
    raw = b'{"jsonrpc":"2.0","id":42,"method":"x","params":{"s":"' + b"a" * 5000 + b'"}}'
    with pytest.raises(ProtocolError) as exc:
        decode(raw, C2S, max_bytes=1024)
    assert exc.value.code == MESSAGE_TOO_LARGE
    assert exc.value.msg_id == 42


def test_duplicate_key_error_still_names_the_id_so_the_sender_gets_an_answer() -> None:
    with pytest.raises(ProtocolError) as exc:
        decode(b'{"jsonrpc":"2.0","id":"req-9","method":"x","params":{"a":1,"a":2}}', C2S)
    assert exc.value.msg_id == "req-9"


def test_batch_comes_back_as_a_list_for_the_relay_to_split() -> None:
    value = decode(b'[{"jsonrpc":"2.0","id":1,"method":"a"}]', C2S)
    assert isinstance(value, list) and value[0]["method"] == "a"


def test_id_key_keeps_number_and_string_apart() -> None:
    assert id_key(1) != id_key("1")
    assert {id_key(1): "n", id_key("1"): "s"}[id_key("1")] == "s"


def test_peek_id_finds_integer_and_string_ids_only() -> None:
    assert peek_id(b'{"id": 17, "method": ') == 17
    assert peek_id(b'{"id":"abc"') == "abc"
    assert peek_id(b'{"id":1.5}') is None
    assert peek_id(b'{"id":true}') is None


def test_encode_keeps_big_integers_exact() -> None:
    big = 2**70 + 3
    assert json.loads(encode({"id": big}))["id"] == big


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_valid_json_within_limits_round_trips(value: object) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode()
    assert parse_json(raw) == value


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_protocol_errors(raw: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(raw, C2S, max_bytes=200)

"""Which frames are searched for credentials: the Hyperscan hint search and the regex
fallback agree, whatever the case and wherever the hint sits in a large frame."""

from __future__ import annotations

import json

import pytest

from mcpwall.audit import mask
from mcpwall.frame import parse_json


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ('{"message":"hello"}', False),
        ('{"Authorization":"Bearer abc"}', True),
        ('{"API_KEY":"x"}', True),
        ('{"pAsSwOrD":"x"}', True),
        ('{"text":"' + "x" * 20000 + 'cookie"}', True),  # the hint at the very end of a big frame
        ('{"text":"' + "lorem ipsum " * 2000 + '"}', False),
        ('{"text":"clé ünïcode ✓"}', False),
        ('{"text":"PWD"}', True),
    ],
)
def test_hint_search_matches_the_regex_fallback(text: str, hint: bool) -> None:
    raw = text.encode()
    assert (mask._HINTS.search(raw.lower()) is not None) is hint
    assert mask.may_hold_credentials(raw) is hint


def test_credentials_are_masked_and_other_frames_stored_as_sent() -> None:
    raw = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"login","arguments":{"password":"hunter2"}}}'
    stored = json.loads(mask.mask_frame(raw, parse_json(raw), []))
    assert stored["params"]["arguments"]["password"] == mask.MASK
    plain = b'{"jsonrpc":"2.0","id":1,"method":"tools/call", "params":{"name":"echo"}}'
    assert mask.mask_frame(plain, parse_json(plain), []) == plain.decode()

"""The scanner's encoding check answers the same with its Hyperscan escape hint as with
the RE2 one, and the lazy run search the same as the full one."""

from __future__ import annotations

import random

import pytest

from mcpwall.detect import normalize
from mcpwall.detect import scanner as scannermod

ALPHABET = ["a", "B", "1", "7", "f", "F", "=", "+", "/", "-", "_", " ", "\n", "\r", ".", "%", "&", "0", "Z", "<", "~",
            "\\", "\x1b", "\x7f", "\t"]


def _texts() -> list[str]:
    rng = random.Random(11)
    out = ["", "plain words only", "100%", "a&b", "<~", "path\\to", "\x1b[31m", "01000001 01000010 01000011",
           "deadbeef" * 4, "MFRGGZDFMZTWQ2LK", "aB1" * 6, "x" * 40]
    for _ in range(5000):
        out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60))))
    return out


def test_hyperscan_escape_hint_agrees_with_re2(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("hyperscan")
    texts = _texts()
    fast = []
    for t in texts:
        normalize._last_spans = None
        fast.append(scannermod._maybe_encoded(t))
    monkeypatch.setattr(scannermod, "_escape_hint", lambda _t: None)
    slow = []
    for t in texts:
        normalize._last_spans = None
        slow.append(scannermod._maybe_encoded(t))
    assert fast == slow
    assert any(fast) and not all(fast)


def test_lazy_run_search_agrees() -> None:
    for t in _texts():
        normalize._last_spans = None
        assert scannermod._maybe_encoded(t, lazy=True) == scannermod._maybe_encoded(t)

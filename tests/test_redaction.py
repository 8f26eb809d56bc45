"""The one redaction primitive every redactor uses: merged spans, replaced from the end."""

from __future__ import annotations

from typing import Any

import pytest

from mcpwall.redaction import redact_field, splice


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("key=AKIA1234 end", [(4, 12, "[X]")], "key=[X] end"),
        ("a1b2c3", [(0, 1, "<a>"), (2, 3, "<b>"), (4, 5, "<c>")], "<a>1<b>2<c>3"),  # offsets stay valid
        ("0123456789", [(2, 6, "[A]"), (4, 8, "[B]")], "01[A]89"),  # overlap: merged, first label
        ("0123456789", [(4, 8, "[B]"), (2, 6, "[A]")], "01[A]89"),  # order of findings does not matter
        ("0123456789", [(2, 4, "[A]"), (4, 6, "[B]")], "01[A][B]6789"),  # touching is not overlapping
        ("unchanged", [], "unchanged"),
    ],
)
def test_splice(text: str, spans: list[tuple[int, int, str]], expected: str) -> None:
    assert splice(text, spans) == expected


def test_redact_field_by_spans_whole_and_missing() -> None:
    obj: dict[str, Any] = {"params": {"arguments": {"note": "card 4111111111111111 ok", "n": 5, "k": "secret"}}}
    assert redact_field(obj, "$.params.arguments.note", [(5, 21, "[card]")], "[whole]")
    assert redact_field(obj, "$.params.arguments.k", None, "[whole]")
    assert not redact_field(obj, "$.params.arguments.n", None, "[whole]")  # not a string
    assert not redact_field(obj, "$.params.missing", None, "[whole]")
    assert obj == {"params": {"arguments": {"note": "card [card] ok", "n": 5, "k": "[whole]"}}}

"""The rule engine: Hyperscan and fallback give the same findings, packs load, rules can be
disabled and suppressed, caps hold, and work stays linear on adversarial input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.detect.test_packs import NEGATIVE, POSITIVE

from mcpwall.detect.engine import Engine, PackError, Suppression

CORPUS = Path("/work/shared/corpus/dev.jsonl")


@pytest.fixture(scope="module")
def hs_engine() -> Engine:
    e = Engine.from_packs(backend="hyperscan")
    assert e.backend == "hyperscan"
    return e


@pytest.fixture(scope="module")
def fallback_engine() -> Engine:
    e = Engine.from_packs(backend="re2")
    assert e.backend == "re2"
    return e


def _key(engine: Engine, text: str, role: str) -> list[tuple[str, int, int, str, bool]]:
    return [(m.rule.id, m.start, m.end, m.value, m.masked) for m in engine.scan(text, role)]


def _parity_inputs() -> list[tuple[str, str]]:
    cases = [(t, r) for _, t, r in POSITIVE + NEGATIVE]
    if CORPUS.exists():
        for line in CORPUS.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            cases.append((row["text"], row["direction"] if row["direction"] != "tool_description" else "tool_description"))
    cases.append(("naïve café 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 — email é@exämple.io jane@corp.io", "response"))
    cases.append(("日本語のテキスト 010-2345-6789 と AKIAZ3MHQBUV7XKL4NWE", "response"))
    return cases


def test_fallback_gives_the_same_findings_as_hyperscan(hs_engine: Engine, fallback_engine: Engine) -> None:
    mismatches = []
    for text, role in _parity_inputs():
        a, b = _key(hs_engine, text, role), _key(fallback_engine, text, role)
        if a != b:
            mismatches.append((text[:80], a, b))
    assert mismatches == []


def test_scan_many_keeps_texts_apart(hs_engine: Engine) -> None:
    # The end of one field and the start of the next must not form a match.
    a, b = hs_engine.scan_many(["prefix ghp_wWPw5k4aXcaT4fNP", "0UcnZwJUVFk6LO0pINUx suffix"], ["response", "response"])
    assert a == [] and b == []


def test_spans_are_character_offsets_in_non_ascii_text(hs_engine: Engine) -> None:
    text = "ééé 🙂 key AKIAZ3MHQBUV7XKL4NWE"
    (m,) = [m for m in hs_engine.scan(text, "response") if m.rule.category == "secrets"]
    assert text[m.start : m.end] == "AKIAZ3MHQBUV7XKL4NWE"


def test_disabled_rules_are_not_compiled() -> None:
    e = Engine.from_packs(disabled=["pii.*", "secrets.aws_access_key_id"])
    ids = {r.id for r in e.rules}
    assert "secrets.aws_access_key_id" not in ids and not any(i.startswith("pii.") for i in ids)
    assert e.scan("AKIAZ3MHQBUV7XKL4NWE bob@corp.io", "response") == []


def test_suppression_by_rule_tool_server_and_path() -> None:
    s = Suppression(rule="pii.*", tool="send_*")
    assert s.matches("pii.email", server=None, tool="send_email", path="$.x")
    assert not s.matches("pii.email", server=None, tool="read_file", path="$.x")
    assert not s.matches("secrets.jwt", server=None, tool="send_email", path="$.x")
    p = Suppression(path="$.result.content[*].text", server="docs")
    assert p.matches("any", server="docs", tool=None, path="$.result.content[3].text")
    assert not p.matches("any", server="other", tool=None, path="$.result.content[3].text")
    with pytest.raises(PackError):
        Suppression.parse({"rule": "x", "tool": "y", "colour": "red"})


def test_user_pack_adds_and_overrides_rules(tmp_path: Path) -> None:
    pack = tmp_path / "corp.yaml"
    pack.write_text(
        "pack: corp\nrules:\n"
        "  - {id: corp.ticket_token, category: secrets, severity: high, title: Corp token,\n"
        "     remediation: rotate it, pattern: '\\bCORP-[A-Z0-9]{12}\\b'}\n",
        encoding="utf-8",
    )
    e = Engine.from_packs([tmp_path], cache=tmp_path / "cache")
    assert [m.rule.id for m in e.scan("id CORP-AB12CD34EF56", "request")] == ["corp.ticket_token"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{id: x, category: secrets, severity: high, pattern: 'a+'}", "bound every quantifier"),
        ("{id: x, category: weather, severity: high, pattern: 'a'}", "category"),
        ("{id: x, category: secrets, severity: huge, pattern: 'a'}", "severity"),
        ("{id: x, category: secrets, severity: high, pattern: 'a', checks: [nope]}", "unknown check"),
        ("{id: x, category: secrets, severity: high, pattern: 'a{1,5000}'}", "1000"),
    ],
)
def test_bad_packs_are_refused_with_a_clear_message(tmp_path: Path, rule: str, message: str) -> None:
    pack = tmp_path / "bad.yaml"
    pack.write_text(f"rules:\n  - {rule}\n", encoding="utf-8")
    with pytest.raises(PackError, match=message):
        Engine.from_packs([pack], builtin=False, cache=False)


def test_database_is_cached(tmp_path: Path) -> None:
    first = Engine.from_packs(cache=tmp_path)
    second = Engine.from_packs(cache=tmp_path)
    assert not first.cache_hit and second.cache_hit
    assert list(tmp_path.glob("hs-*.db"))
    text = "AKIAZ3MHQBUV7XKL4NWE"
    assert _key(first, text, "response") == _key(second, text, "response")


def test_findings_per_rule_are_capped_per_message() -> None:
    e = Engine.from_packs(max_per_rule=5)
    texts = [" ".join(f"user{i}@corp{j}.io" for i in range(10)) for j in range(3)]
    per_text = e.scan_many(texts, ["response"] * 3)
    emails = [m for lst in per_text for m in lst if m.rule.id == "pii.email"]
    assert len(emails) == 5
    # the excess is not reported match by match, but the cap is said on one of them
    assert sum(m.capped for m in emails) == 1


def test_repeated_values_are_validated_once_with_the_same_verdicts(hs_engine: Engine) -> None:
    bad = 'password="password=" '  # rejected: not mixed enough
    good = 'password="Zq8#mW2x!Lp9" '
    text = bad * 300 + good + bad * 300
    hs_engine.stats.reset()
    found = [m.value for m in hs_engine.scan(text, "response") if m.rule.id == "secrets.password_assignment"]
    assert found == ["Zq8#mW2x!Lp9"]


def test_exhausted_work_budget_marks_the_text_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcpwall.detect import engine as engmod

    e = Engine.from_packs()
    monkeypatch.setattr(engmod, "WORK_BASE", 0)
    monkeypatch.setattr(engmod, "WORK_PER_BYTE", 1)
    texts = ["plain words only", 'password="Zq8#mW2x!Lp9" ' * 200]
    incomplete: dict[int, str] = {}
    e.scan_many(texts, ["response", "response"], incomplete)
    assert list(incomplete) == [1]
    assert "budget" in incomplete[1]


ADVERSARIAL_SEEDS = [
    "../", "%2e%2e%2f", "AKIA", "a@", "a@b.", "eyJ", "-----BEGIN ", "x", "A", "0", "4111 ", "![a](http://e.x/?",
    "[", "\\u00", "sk-T3BlbkFJ", "ghp_", 'password="', ":", "1.", "; curl ", "rm -rf ", "a-", "ab1.", "2001:",
]


@pytest.mark.parametrize("seed", ADVERSARIAL_SEEDS)
def test_work_is_linear_on_adversarial_input(hs_engine: Engine, seed: str) -> None:
    work = []
    for n in (20_000, 80_000):
        text = (seed * (n // len(seed) + 1))[:n]
        hs_engine.stats.reset()
        hs_engine.scan(text, "request")
        s = hs_engine.stats
        work.append(s.candidates + s.window_chars)
    # Four times the input may cost at most about four times the work (plus slack).
    assert work[1] <= 4.5 * work[0] + 1000, work

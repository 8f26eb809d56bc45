"""Settings: precedence, environment mapping, and errors that name the key and the reason."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpwall.app import App
from mcpwall.cli import main, parse_since
from mcpwall.config import DEFAULT_CONFIG, Mode, Settings, load
from mcpwall.errors import ConfigError, McpwallError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_defaults_are_monitor_mode_with_audit_on() -> None:
    s = load(env={})
    assert s.mode is Mode.MONITOR and s.audit.enabled and s.limits.max_message_bytes >= 64 * 1024 * 1024


def test_precedence_is_flags_over_environment_over_file(tmp_path: Path) -> None:
    f = write(tmp_path, "mode: enforce\nlimits: {max_depth: 10}\naudit: {flush_rows: 7}\n")
    assert load(f, env={}).mode is Mode.ENFORCE
    env = {"MCPWALL_MODE": "monitor", "MCPWALL_LIMITS__MAX_DEPTH": "20"}
    s = load(f, env=env)
    assert s.mode is Mode.MONITOR and s.limits.max_depth == 20 and s.audit.flush_rows == 7
    s = load(f, env=env, overrides={"mode": "enforce", "limits.max_depth": 30})
    assert s.mode is Mode.ENFORCE and s.limits.max_depth == 30


def test_config_file_from_environment(tmp_path: Path) -> None:
    f = write(tmp_path, "mode: enforce\n")
    assert load(env={"MCPWALL_CONFIG": str(f)}).mode is Mode.ENFORCE


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        ("mode: maybe\n", "mode", "monitor"),
        ("bogus: 1\n", "bogus", "unknown key"),
        ("audit: {flush_rows: 0}\n", "audit.flush_rows", "greater than"),
        ("policy: {rules: [{name: a, action: deny, match: {tool: 5}}]}\n", "policy.rules.0.match.tool", "glob"),
        ("policy: {rules: [{name: a, action: deny}, {name: a, action: allow}]}\n", "policy.rules", "twice"),
        ("policy: {default: warn}\n", "policy.default", "allow or deny"),
    ],
)
def test_invalid_settings_name_the_key_and_the_reason(tmp_path: Path, text: str, path: str, reason: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, text), env={})
    assert any(p == path and reason in r for p, r in exc.value.problems), exc.value.problems


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("mode: [\n", "line 2"), ("- a\n- b\n", "mapping")],
)
def test_broken_files_are_clear_errors(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load(write(tmp_path, text), env={})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.yaml", env={})


def test_the_default_config_written_by_init_is_valid_and_means_the_defaults(tmp_path: Path) -> None:
    assert Settings.model_validate(yaml.safe_load(DEFAULT_CONFIG)) == Settings()
    target = tmp_path / "mcpwall.yaml"
    assert main(["init", str(target)]) == 0
    assert main(["config", "check", str(target)]) == 0
    assert main(["init", str(target)]) == 2  # refuses to overwrite


def test_config_check_reports_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "mode: x\nlog: {level: loud}\n")
    assert main(["config", "check", str(f)]) == 1
    err = capsys.readouterr().err
    assert "mode:" in err and "log.level:" in err


def test_since_accepts_durations_and_iso_times() -> None:
    assert parse_since("90s", now=1000.0) == 910.0
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_since("2026-01-01T00:00:00+00:00") == 1767225600.0
    with pytest.raises(ConfigError):
        parse_since("yesterday")


# --- any broken config is a clear error, never a traceback -------------------------------------

def _paths(d: object, p: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [p] if p else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, (*p, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += _paths(v, (*p, i))
    return out


def _rich_config() -> dict[str, object]:
    """The default config with one rule of every kind from bench/policy50.yaml."""
    base: dict[str, object] = yaml.safe_load(DEFAULT_CONFIG)
    policy = yaml.safe_load((Path(__file__).parents[1] / "bench" / "policy50.yaml").read_text())["policy"]
    kinds: dict[tuple[str, ...], object] = {}
    for rule in policy["rules"]:
        kinds.setdefault(tuple(sorted(rule.get("match", {}))), rule)
    policy["rules"] = list(kinds.values())
    base["policy"] = policy
    return base


_RICH = _rich_config()
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(), st.text(max_size=12),
                     st.sampled_from(["*", "[", "(?P<", "deny", "redact", "require_approval", "../x", "$.a[", "1h", "-1"]))
_VALUES = st.recursive(_SCALARS, lambda c: st.one_of(st.lists(c, max_size=3),
                                                      st.dictionaries(st.text(max_size=8), c, max_size=3)),
                       max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(changes=st.lists(st.tuples(st.sampled_from(_paths(_RICH)), _VALUES), min_size=1, max_size=3))
def test_any_broken_config_is_a_config_error_not_a_traceback(tmp_path_factory: pytest.TempPathFactory,
                                                             changes: list[tuple[tuple[object, ...], object]]) -> None:
    data = copy.deepcopy(_RICH)
    for path, value in changes:
        node: Any = data
        with contextlib.suppress(KeyError, IndexError, TypeError):
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = value
    tmp = tmp_path_factory.mktemp("cfg")
    (tmp / "c.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {"MCPWALL_STATE_DIR": str(tmp / "state")}
    with contextlib.suppress(McpwallError):  # a clear error: what the CLI prints without a traceback
        App(load(str(tmp / "c.yaml"), env=env, overrides={"audit.enabled": False}), env)


@pytest.mark.parametrize("severity", [[], {"a": 1}, True, 9, "severe"])
def test_a_severity_of_the_wrong_kind_is_a_config_error(tmp_path: Path, severity: object) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"detection": {"actions": [{"category": "secrets", "severity": severity,
                                                              "action": "redact"}]}}))
    with pytest.raises(ConfigError, match="severity"):
        load(str(cfg), env={})

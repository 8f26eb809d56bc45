"""The engine's hot path (``decide``: no reasons formatted, candidates cached, budgets
cached) rules exactly as the explaining path does, rule by rule, on the 50-rule bench policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mcpwall.policy.engine import Facts, compile_policy
from mcpwall.policy.rules import PolicySettings
from mcpwall.verdict import Finding, Severity

POLICY50 = Path(__file__).resolve().parents[2] / "bench" / "policy50.yaml"


def policy50() -> Any:
    return compile_policy(PolicySettings.model_validate(yaml.safe_load(POLICY50.read_text())["policy"]))


def call(tool: str, arguments: Any = None, **kw: Any) -> Facts:
    return Facts(method="tools/call", tool=tool, arguments=arguments if arguments is not None else {}, **kw)


SECRET = Finding("secrets", "secrets.aws", Severity.HIGH, "key", path="$.params.arguments.text", detector="d")

CASES = [
    call("echo", {"message": "hi"}),
    call("tool_3_x"),
    call("admin_35"),
    call("run_thing"),
    call("deploy_prod"),
    call("fetch", {"url": "https://a.evil.example/x"}),
    call("mail", {"to": "me@attacker.example"}),
    call("echo", {"blob": ["a", {"b": "-----BEGIN RSA PRIVATE KEY-----"}]}),
    call("sql", {"query": "x; DROP TABLE users"}),
    call("net", {"host": "169.254.169.254"}),
    call("read", {"path": "/etc/passwd"}),
    call("read", {"path": "/tmp/ok"}),
    call("read", {"file": ["/home/a", "/root/b"]}),
    call("shell_ish", {"cmd": "rm -rf /"}),
    call("shell_ish", {"cmd": "ls -l"}),
    call("send_email", labels=frozenset({"external_sink"}), touched={"private_data", "untrusted_input"}),
    call("send_email", labels=frozenset({"external_sink"}), touched=["private_data"]),
    call("send_x", called=["read_file"]),
    call("echo", {"text": "AKIA..."}, findings=[SECRET]),
    Facts(method="tools/call", tool="echo", kind="response", direction="s2c", findings=[SECRET]),
    Facts(method="ping", tool=None),
    Facts(method="notifications/progress", tool=None, kind="notification"),
]


@pytest.mark.parametrize("facts", CASES, ids=lambda f: f"{f.method}:{f.tool}")
def test_decide_agrees_with_explain(facts: Facts) -> None:
    policy = policy50()
    layer = policy.layers[-1]
    for _ in range(2):  # cold and cached
        fast = policy.decide(facts)
        slow, _steps = layer.explain(facts)
        assert (fast.action, fast.name, fast.redact) == (slow.action, slow.name, slow.redact)


def test_budgets_are_cached_per_tool_and_stay_right() -> None:
    policy = policy50()
    first = policy.budget("echo", "up", "tools/call")
    assert first == policy.budget("echo", "up", "tools/call") == (1048576, "truncate", "budget:*")
    assert policy.budget(None, "up", "ping") is None


def small(rules: list[dict[str, Any]], default: str = "allow") -> Any:
    return compile_policy(PolicySettings.model_validate({"default": default, "rules": rules}))


@pytest.mark.parametrize(
    ("rules", "kind", "tool", "expected"),
    [
        ([], "request", "echo", True),
        ([{"name": "r", "match": {"tool": "run_*"}, "action": "deny"}], "request", "echo", True),
        ([{"name": "r", "match": {"tool": "run_*"}, "action": "deny"}], "request", "run_x", False),
        ([{"name": "r", "match": {"tool": "run_*"}, "action": "deny"}], "response", "run_x", True),
        # Content and history conditions might match: never "default only".
        ([{"name": "r", "match": {"arguments": {"$.url": "*"}}, "action": "deny"}], "request", "echo", False),
        ([{"name": "r", "match": {"after": "private_data"}, "action": "deny"}], "notification", None, False),
        ([{"name": "r", "match": {"findings": {"category": "secrets"}}, "action": "redact"}], "response", "echo",
         False),
    ],
)
def test_default_only_means_no_rule_could_match(rules: list[dict[str, Any]], kind: str, tool: str | None,
                                                expected: bool) -> None:
    p = small(rules)
    for _ in range(2):
        assert p.default_only(kind, "c2s", "tools/call", tool, "up", "local", ()) is expected
    f = Facts(method="tools/call", tool=tool, kind=kind, arguments={"url": "u"}, touched={"private_data"},
              findings=[SECRET])
    if expected:
        assert p.decide(f).rule is None  # whatever the content, the default decides

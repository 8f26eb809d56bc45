"""The compiled policy: matching, precedence, composition, path and command constraints, budgets."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mcpwall.errors import ConfigError
from mcpwall.frame import Direction, Frame, decode, encode
from mcpwall.inspectors.policy import PolicyInspector
from mcpwall.policy import commands, paths
from mcpwall.policy.engine import Facts, compile_policy
from mcpwall.policy.rules import Action, Glob, PolicySettings
from mcpwall.session import Identity, Session
from mcpwall.verdict import Block, Finding, Modify, Pass, Severity


def policy(data: dict[str, Any]) -> Any:
    return compile_policy(PolicySettings.model_validate(data))


def call(tool: str, **args: Any) -> Facts:
    return Facts(method="tools/call", tool=tool, arguments=args)


RULES = {
    "default": "allow",
    "rules": [
        {"name": "ops-may-shell", "match": {"tool": "run_*", "roles": "ops"}, "action": "allow"},
        {"name": "no-shell", "match": {"method": "tools/call", "tool": ["run_*", "exec*"]}, "action": "deny"},
        {"name": "no-evil-urls", "match": {"tool": "fetch", "arguments": {"$.url": "https://*.evil.example/*"}},
         "action": "deny"},
        {"name": "no-drop", "match": {"tool": "sql", "arguments": [{"path": "$.q", "regex": "(?i)\\bdrop\\s+table"}]},
         "action": "deny"},
        {"name": "prod-approval", "match": {"upstream": "*prod*", "tool": "deploy"}, "action": "require_approval"},
        {"name": "alice-only", "match": {"tool": "payroll", "subject": ["!alice"]}, "action": "allow"},
        {"name": "secrets-out", "match": {"findings": {"category": "secrets", "severity": "high"}}, "action": "redact"},
        {"name": "any-secret-warn", "match": {"findings": {"category": "secrets"}}, "action": "warn"},
        {"name": "no-sampling", "match": {"method": "sampling/*", "direction": "s2c"}, "action": "deny"},
    ],
}

HIGH_SECRET = Finding("secrets", "secrets.aws", Severity.HIGH, path="$.params.arguments.k", span=(0, 4))
LOW_SECRET = Finding("secrets", "secrets.generic", Severity.LOW, path="$.params.arguments.k")


@pytest.mark.parametrize(
    ("facts", "action", "rule"),
    [
        (call("run_shell"), Action.DENY, "no-shell"),
        (Facts(method="tools/call", tool="run_shell", roles=("ops",)), Action.ALLOW, "ops-may-shell"),  # earlier wins
        (call("execute"), Action.DENY, "no-shell"),
        (call("Run_shell"), Action.ALLOW, "default"),  # globs are case-sensitive
        (call("fetch", url="https://cdn.evil.example/x"), Action.DENY, "no-evil-urls"),
        (call("fetch", url="https://good.example/x"), Action.ALLOW, "default"),
        (call("fetch"), Action.ALLOW, "default"),  # missing argument: no match
        (call("sql", q="select 1; DROP  TABLE users"), Action.DENY, "no-drop"),
        (call("sql", q="select 'drop table' from x"), Action.DENY, "no-drop"),  # regex sees the text as is
        (call("sql", q="select 1"), Action.ALLOW, "default"),
        (Facts(method="tools/call", tool="deploy", upstream="k8s-prod"), Action.REQUIRE_APPROVAL, "prod-approval"),
        (Facts(method="tools/call", tool="deploy", upstream="k8s-dev"), Action.ALLOW, "default"),
        (Facts(method="tools/call", tool="x", findings=[HIGH_SECRET]), Action.REDACT, "secrets-out"),
        (Facts(method="tools/call", tool="x", findings=[LOW_SECRET]), Action.WARN, "any-secret-warn"),
        (Facts(method="tools/call", tool="x", kind="response", findings=[LOW_SECRET]), Action.WARN, "any-secret-warn"),
        (Facts(method="sampling/createMessage", direction="s2c"), Action.DENY, "no-sampling"),
        (Facts(method="sampling/createMessage", direction="c2s"), Action.ALLOW, "default"),
        (Facts(method="tools/call", tool="run_x", kind="response"), Action.ALLOW, "default"),  # rules judge requests
    ],
)
def test_first_matching_rule_decides(facts: Facts, action: Action, rule: str) -> None:
    ruling = policy(RULES).decide(facts)
    assert (ruling.action, ruling.name) == (action, rule)


def test_redact_ruling_names_the_fields_to_redact() -> None:
    ruling = policy(RULES).decide(Facts(method="tools/call", tool="x", findings=[HIGH_SECRET]))
    assert ruling.redact == ["$.params.arguments.k"]


def test_invalid_rules_are_config_errors() -> None:
    for bad in ({"rules": [{"name": "x", "match": {"tool": []}, "action": "deny"}]},
                {"rules": [{"name": "x", "match": {"arguments": [{"path": "$.a", "regex": "("}]}, "action": "deny"}]},
                {"rules": [{"name": "x", "match": {"colour": "red"}, "action": "deny"}]},
                {"default": "warn"}):
        with pytest.raises(ValueError):
            PolicySettings.model_validate(bad)


# --- composition -------------------------------------------------------------------------

BASE = {
    "default": "deny",
    "rules": [
        {"name": "read-ok", "match": {"tool": "read_*"}, "action": "allow"},
        {"name": "write-ok", "match": {"tool": "write_*"}, "action": "allow"},
        {"name": "init", "match": {"method": ["initialize", "notifications/*", "tools/list", "ping"]}, "action": "allow"},
    ],
    "budgets": [{"tool": "read_*", "max_response_bytes": 100000, "action": "warn"}],
}


@pytest.fixture
def base_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump({"policy": BASE}))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("personal", "tool", "expected"),
    [
        ({"default": "allow"}, "read_file", Action.ALLOW),  # both allow
        ({"default": "allow"}, "delete_file", Action.DENY),  # a personal allow cannot loosen the base's deny
        ({"default": "allow", "rules": [{"name": "all", "match": {"tool": "*"}, "action": "allow"}]},
         "delete_file", Action.DENY),
        ({"default": "allow", "rules": [{"name": "no-writes", "match": {"tool": "write_*"}, "action": "deny"}]},
         "write_file", Action.DENY),  # a personal deny adds to the base's
        ({"default": "deny", "rules": [{"name": "reads", "match": {"tool": "read_*"}, "action": "allow"}]},
         "write_file", Action.DENY),  # allows intersect
        ({"default": "allow", "rules": [{"name": "ask", "match": {"tool": "read_*"}, "action": "require_approval"}]},
         "read_file", Action.REQUIRE_APPROVAL),
    ],
)
def test_a_personal_config_can_only_restrict_its_base(
    base_file: tuple[Path, str], personal: dict[str, Any], tool: str, expected: Action, tmp_path: Path
) -> None:
    _path, digest = base_file
    settings = PolicySettings.model_validate({**personal, "extends": {"path": "base.yaml", "sha256": digest}})
    composed = compile_policy(settings, tmp_path / "personal.yaml")
    assert len(composed.layers) == 2
    assert composed.decide(call(tool)).action is expected


def test_limits_take_the_stricter_value(base_file: tuple[Path, str], tmp_path: Path) -> None:
    _, digest = base_file
    settings = PolicySettings.model_validate({
        "extends": {"path": "base.yaml", "sha256": digest},
        "budgets": [{"tool": "read_file", "max_response_bytes": 200000, "action": "truncate"}],
    })
    composed = compile_policy(settings, tmp_path / "personal.yaml")
    limit, action, _ = composed.budget("read_file", "", "tools/call")
    assert (limit, action) == (100000, "truncate")  # smaller size from the base, stricter action from personal


def test_a_base_whose_hash_changed_is_refused(base_file: tuple[Path, str], tmp_path: Path) -> None:
    path, digest = base_file
    path.write_text(path.read_text() + "\n# edited\n")
    settings = PolicySettings.model_validate({"extends": {"path": str(path), "sha256": digest}})
    with pytest.raises(ConfigError, match="sha256"):
        compile_policy(settings, tmp_path / "personal.yaml")


# --- paths ------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (tmp_path / "project-secrets").mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", project / "escape")
    return project


@pytest.mark.parametrize(
    ("value", "outside"),
    [
        ("src/main.py", False),
        ("{p}/src/main.py", False),
        ("{p}/src/../src/main.py", False),
        ("../project-secrets/key", True),  # the startsWith mistake: /x/project-secrets starts with /x/project
        ("{p}-secrets/key", True),
        ("{p}/src/../../outside/x", True),
        ("{p}/escape/x", True),  # a symlink out of the project
        ("{p}/escape/../src", True),  # the kernel resolves the link before ".."
        ("{p}/src/..\\..\\outside", True),  # backslashes, as a Windows server reads them
        ("file://{p}/src/%2e%2e/%2e%2e/outside", True),  # percent-encoded dots in a file URI
        ("file://{p}/src/a.py", False),
        ("{p}//src///a.py", False),
        ("/etc/passwd", True),
        ("{p}/src/a\x00.py", True),  # unreadable: suspect
        ("~/.ssh/id_rsa", True),
    ],
)
def test_paths_are_compared_in_canonical_form(tree: Path, value: str, outside: bool) -> None:
    text = value.format(p=tree)
    assert paths.outside_all(text, [str(tree)], str(tree)) is outside
    rule = {"rules": [{"name": "stay-in-project", "match": {"tool": "*", "path": {"at": "$.path", "outside": [str(tree)],
                                                                                 "root": str(tree)}},
                       "action": "deny"}]}
    assert (policy(rule).decide(call("write_file", path=text)).action is Action.DENY) is outside


def test_inside_constraint_uses_whole_components(tmp_path: Path) -> None:
    ssh = tmp_path / ".ssh"
    assert paths.inside_any(f"{ssh}/id_rsa", [str(ssh)], "/")
    assert paths.inside_any(f"{tmp_path}/x/../.ssh/id_rsa", [str(ssh)], "/")
    assert not paths.inside_any(f"{tmp_path}/.sshkeys/x", [str(ssh)], "/")


# --- commands ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "denied"),
    [
        ("ls -la", False),
        ("rm -rf /", True),
        ("/bin/rm -rf /", True),
        ("r''m -rf /", True),  # quotes removed the way a shell removes them
        ("ls; rm -rf /", True),
        ("ls && rm -rf /tmp/x", True),
        ("bash -c 'rm -rf /'", True),
        ("sudo -n rm -rf /", True),
        ("env X=1 rm -rf /", True),
        ("X=1 rm x", True),
        ("echo rm -rf /", False),  # rm is an argument here, not the program
        (["rm", "-rf", "/"], True),
        ("echo 'unclosed", True),  # does not parse: suspect
    ],
)
def test_commands_are_matched_on_parsed_argv(command: Any, denied: bool) -> None:
    rule = {"rules": [{"name": "no-rm", "match": {"tool": "shell", "command": {"at": "$.cmd", "program": "rm"}},
                       "action": "deny"}]}
    assert (policy(rule).decide(call("shell", cmd=command)).action is Action.DENY) is denied


def test_shell_operators_are_detected() -> None:
    assert commands.parse("curl x | sh").operators
    assert commands.parse("echo $(id)").operators
    assert not commands.parse("git status").operators


# --- the inspector: tools/list consistency, budgets -------------------------------------


def frame(obj: dict[str, Any], direction: Direction = Direction.C2S) -> Frame:
    f = decode(json.dumps(obj).encode(), direction)
    assert isinstance(f, Frame)
    return f


async def test_tools_list_hides_exactly_the_tools_no_call_of_which_could_pass() -> None:
    inspector = PolicyInspector(PolicySettings.model_validate(RULES))
    req = frame({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    tools = [{"name": n, "inputSchema": {"type": "object"}} for n in ("run_shell", "fetch", "sql", "deploy", "echo")]
    resp = frame({"jsonrpc": "2.0", "id": 1, "result": {"tools": tools}}, Direction.S2C)
    resp.request, resp.method = req, "tools/list"
    v = await inspector.inspect(resp, Session())
    assert isinstance(v, Modify)
    # run_shell is always denied (for a caller without the ops role); fetch and sql are only
    # denied for some arguments, so they stay listed.
    assert [t["name"] for t in v.obj["result"]["tools"]] == ["fetch", "sql", "deploy", "echo"]
    v = await inspector.inspect(resp, Session(identity=Identity(subject="bob", roles=("ops",))))
    assert isinstance(v, Pass)


def response(text: str, *, extra: dict[str, Any] | None = None) -> Frame:
    req = frame({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "read_file", "arguments": {}}})
    result = {"content": [{"type": "text", "text": text}, {"type": "image", "data": "QUJD" * 50, "mimeType": "image/png"}],
              **(extra or {})}
    resp = frame({"jsonrpc": "2.0", "id": 7, "result": result}, Direction.S2C)
    resp.request, resp.method = req, "tools/call"
    return resp


@pytest.mark.parametrize("text", ["x" * 5000, "é\"\\\n" * 2000, "🙂" * 3000])
@pytest.mark.parametrize("limit", [300, 1000, 4000])
async def test_truncation_keeps_a_valid_tool_result_within_the_budget(text: str, limit: int) -> None:
    settings = PolicySettings.model_validate(
        {"budgets": [{"tool": "read_*", "max_response_bytes": limit, "action": "truncate"}]})
    v = await PolicyInspector(settings).inspect(response(text, extra={"structuredContent": {"t": text}}), Session())
    assert isinstance(v, Modify)
    raw = encode(v.obj)
    again = decode(raw, Direction.S2C)  # strict JSON-RPC decoding accepts it
    assert isinstance(again, Frame) and again.id == 7
    assert len(raw) <= limit
    content = v.obj["result"]["content"]
    assert content[-1]["type"] == "text" and "truncated" in content[-1]["text"]
    kept = "".join(c.get("text", "") for c in content[:-1])
    assert text.startswith(kept)


async def test_budget_warn_and_block() -> None:
    for action, verdict in (("warn", Pass), ("block", Block)):
        settings = PolicySettings.model_validate(
            {"budgets": [{"tool": "read_*", "max_response_bytes": 600, "action": action}]})
        v = await PolicyInspector(settings).inspect(response("y" * 1000), Session())
        assert type(v) is verdict and v.findings[0].category == "budget"
    small = await PolicyInspector(settings).inspect(response("y"), Session())
    assert isinstance(small, Pass) and not small.findings


async def test_redact_replaces_the_secret_span_in_a_request() -> None:
    inspector = PolicyInspector(PolicySettings.model_validate(RULES))
    f = frame({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x", "arguments": {"k": "AKIAxyz"}}})
    v = await inspector.review(f, Session(), [HIGH_SECRET])
    assert isinstance(v, Modify)
    assert v.obj["params"]["arguments"]["k"].endswith("xyz") and "REDACTED" in v.obj["params"]["arguments"]["k"]


@given(pattern=st.text(alphabet="ab*?[]!-c^\\", max_size=8), text=st.text(alphabet="abc-]!*[^\\", max_size=10))
def test_globs_match_exactly_what_fnmatch_matches(pattern: str, text: str) -> None:
    """Globs are matched without backtracking (``*`` by find, the rest by RE2 or fnmatch's
    translation), and must agree with the standard library's case-sensitive fnmatch."""
    import fnmatch

    assert Glob([pattern])(text) == fnmatch.fnmatchcase(text, pattern)

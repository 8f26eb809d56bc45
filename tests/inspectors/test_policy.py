"""The policy inspector: first match wins, globs, default, and tools/list kept consistent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcpwall.frame import Direction, Frame, decode
from mcpwall.inspectors.policy import PolicyInspector
from mcpwall.policy.rules import PolicySettings
from mcpwall.session import Session
from mcpwall.verdict import Block, Modify, Pass

RULES = {
    "default": "allow",
    "rules": [
        {"name": "allow-run-tests", "match": {"method": "tools/call", "tool": "run_tests"}, "action": "allow"},
        {"name": "no-shell", "match": {"method": "tools/call", "tool": ["run_*", "exec*"]}, "action": "deny",
         "reason": "shell tools are not allowed"},
        {"name": "no-sampling", "match": {"method": "sampling/*"}, "action": "deny"},
        {"name": "watch-writes", "match": {"tool": "write_*"}, "action": "warn"},
    ],
}


def frame(obj: dict[str, Any], direction: Direction = Direction.C2S) -> Frame:
    f = decode(json.dumps(obj).encode(), direction)
    assert isinstance(f, Frame)
    return f


def call(tool: str) -> Frame:
    return frame({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}}})


@pytest.mark.parametrize(
    ("tool", "verdict", "rule"),
    [
        ("run_tests", Pass, "allow-run-tests"),  # earlier allow wins over the later deny
        ("run_shell", Block, "no-shell"),
        ("exec", Block, "no-shell"),
        ("execute_sql", Block, "no-shell"),
        ("Run_shell", Pass, ""),  # globs are case-sensitive
        ("write_file", Pass, "watch-writes"),
        ("read_file", Pass, ""),
    ],
)
async def test_tool_calls_are_decided_by_the_first_matching_rule(tool: str, verdict: type, rule: str) -> None:
    inspector = PolicyInspector(PolicySettings.model_validate(RULES))
    v = await inspector.inspect(call(tool), Session())
    assert type(v) is verdict and v.rule == rule
    if isinstance(v, Block):
        assert "shell tools are not allowed" in v.reason and tool in v.reason


async def test_warn_rule_passes_with_a_finding() -> None:
    v = await PolicyInspector(PolicySettings.model_validate(RULES)).inspect(call("write_file"), Session())
    assert isinstance(v, Pass) and v.findings and v.findings[0].rule == "watch-writes"


async def test_server_requests_are_matched_by_method_too() -> None:
    req = frame({"jsonrpc": "2.0", "id": 3, "method": "sampling/createMessage", "params": {}}, Direction.S2C)
    v = await PolicyInspector(PolicySettings.model_validate(RULES)).inspect(req, Session())
    assert isinstance(v, Block) and v.rule == "no-sampling"


async def test_default_deny_blocks_what_no_rule_allows() -> None:
    settings = PolicySettings.model_validate({"default": "deny", "rules": [
        {"name": "reads", "match": {"method": ["tools/call"], "tool": "read_*"}, "action": "allow"},
        {"name": "basics", "match": {"method": ["initialize", "notifications/*", "tools/list", "ping"]}, "action": "allow"},
    ]})
    inspector = PolicyInspector(settings)
    assert isinstance(await inspector.inspect(call("read_file"), Session()), Pass)
    assert isinstance(await inspector.inspect(call("delete_file"), Session()), Block)
    ping = frame({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert isinstance(await inspector.inspect(ping, Session()), Pass)


async def test_tools_list_hides_the_tools_a_deny_rule_blocks() -> None:
    inspector = PolicyInspector(PolicySettings.model_validate(RULES))
    request = frame({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    tools = [{"name": n, "inputSchema": {"type": "object"}} for n in ("read_file", "run_shell", "run_tests", "exec")]
    response = frame({"jsonrpc": "2.0", "id": 1, "result": {"tools": tools, "nextCursor": "c2"}}, Direction.S2C)
    response.request, response.method = request, "tools/list"
    v = await inspector.inspect(response, Session())
    assert isinstance(v, Modify)
    assert [t["name"] for t in v.obj["result"]["tools"]] == ["read_file", "run_tests"]
    assert v.obj["result"]["nextCursor"] == "c2" and v.obj["id"] == 1
    assert response.obj["result"]["tools"] == tools  # the original is not changed in place

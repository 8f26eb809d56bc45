"""Cedar and OPA as extra decision points: they can only restrict, and they fail closed."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from mcpwall.errors import ConfigError
from mcpwall.frame import Direction, Frame, decode
from mcpwall.inspectors.policy import PolicyInspector
from mcpwall.policy.rules import PolicySettings
from mcpwall.session import Identity, Session
from mcpwall.verdict import Block, Pass


def call(tool: str, **args: Any) -> Frame:
    f = decode(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": tool, "arguments": args}}).encode(), Direction.C2S)
    assert isinstance(f, Frame)
    return f


CEDAR = """
permit(principal, action == Action::"tools/call", resource)
when { context.roles.contains("dev") };
forbid(principal, action, resource == Tool::"drop_db");
"""


@pytest.mark.parametrize(
    ("tool", "roles", "allowed"),
    [("query", ("dev",), True), ("query", (), False), ("drop_db", ("dev",), False)],
)
async def test_cedar_decides_after_the_rules(tool: str, roles: tuple[str, ...], allowed: bool) -> None:
    pytest.importorskip("cedarpy")
    inspector = PolicyInspector(PolicySettings.model_validate({"cedar": {"policies": CEDAR}}))
    v = await inspector.inspect(call(tool), Session(identity=Identity(subject="ann", roles=roles)))
    assert isinstance(v, Pass) is allowed
    if not allowed:
        assert isinstance(v, Block) and "cedar" in v.reason


async def test_cedar_cannot_loosen_a_rule_deny() -> None:
    pytest.importorskip("cedarpy")
    settings = PolicySettings.model_validate({"cedar": {"policies": "permit(principal, action, resource);"},
                                              "rules": [{"name": "no", "match": {"tool": "x"}, "action": "deny"}]})
    v = await PolicyInspector(settings).inspect(call("x"), Session())
    assert isinstance(v, Block) and v.rule == "no"


def test_broken_cedar_policies_are_a_config_error() -> None:
    pytest.importorskip("cedarpy")
    with pytest.raises(ConfigError):
        PolicyInspector(PolicySettings.model_validate({"cedar": {"policies": "permit(principal, action"}}))


@pytest.fixture
async def opa() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A tiny OPA stand-in on loopback: answers from ``state['answer']``, records inputs."""
    state: dict[str, Any] = {"answer": {"result": True}, "inputs": []}

    async def decide(request: web.Request) -> web.StreamResponse:
        state["inputs"].append((await request.json())["input"])
        answer = state["answer"]
        if answer == "hang":
            await state.setdefault("release", __import__("asyncio").Event()).wait()
        if answer == "500":
            return web.Response(status=500)
        return web.json_response(answer)

    app = web.Application()
    app.router.add_post("/v1/data/mcpwall/allow", decide)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield f"http://127.0.0.1:{port}/v1/data/mcpwall/allow", state
    if "release" in state:
        state["release"].set()
    await runner.cleanup()


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [({"result": True}, True), ({"result": {"allow": True}}, True), ({"result": False}, False),
     ({"result": {"allow": False, "reason": "nope"}}, False), ({}, False), ("500", False), ("hang", False)],
)
async def test_opa_fails_closed(opa: tuple[str, dict[str, Any]], answer: Any, allowed: bool) -> None:
    url, state = opa
    state["answer"] = answer
    inspector = PolicyInspector(PolicySettings.model_validate({"opa": {"url": url, "timeout_ms": 300}}))
    try:
        v = await inspector.inspect(call("query", q="select 1"), Session(upstream="db"))
    finally:
        await inspector.close()
    assert isinstance(v, Pass) is allowed
    assert state["inputs"][0]["tool"] == "query" and state["inputs"][0]["arguments"] == {"q": "select 1"}


async def test_unreachable_opa_denies() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    inspector = PolicyInspector(PolicySettings.model_validate({"opa": {"url": f"http://127.0.0.1:{port}/x"}}))
    v = await inspector.inspect(call("query"), Session())
    await inspector.close()
    assert isinstance(v, Block) and "opa error" in v.reason

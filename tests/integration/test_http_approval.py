"""Human approval over HTTP: ``mcpwall proxy`` in enforce mode asks through elicitation.

The official ``mcp`` SDK client speaks Streamable HTTP to ``mcpwall proxy``, which runs the
workspace server (an SDK server) as a stdio child. A ``require_approval`` rule makes mcpwall
send an ``elicitation/create`` request of its own on the tools/call's response stream; the
client's answer comes back in a POST and stays with mcpwall. Accept lets exactly that call
through once; decline blocks it; other tools are not held up; without an elicitation
capability the call is blocked and names ``mcpwall approvals``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import mcp_types as types
import pytest
from gateway import monitor_config, proxy
from mcp import Client
from mcp.shared.exceptions import MCPError
from test_dataflow_approval import APPROVAL, User
from test_dataflow_approval import audit_actions as actions

from wallpeer import SERVERS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
WAIT = 30.0


def gateway_config(workdir: Path) -> Path:
    return monitor_config(workdir, mode="enforce", policy=APPROVAL["policy"])


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_approval_by_elicitation_through_the_http_gateway(tmp_path: Path, mode: str) -> None:
    config = gateway_config(tmp_path)
    user = User("accept", "decline")
    env = {**os.environ, "MCPWALL_STATE_DIR": str(tmp_path / "state")}
    with proxy("--config", str(config), "--", sys.executable, str(SERVERS / "workspace_server.py"), env=env) as front:
        with anyio.fail_after(120):
            async with Client(front.url(), mode=mode, read_timeout_seconds=WAIT, elicitation_callback=user) as client:
                ok = await client.call_tool("delete_file", {"path": "/tmp/a"})
                assert ok.content[0].text == "delete_file done: path=/tmp/a"
                assert "delete_file" in user.shown[0] and "/tmp/a" in user.shown[0]
                with pytest.raises(MCPError, match="not approved"):
                    await client.call_tool("delete_file", {"path": "/tmp/b"})
                other = await client.call_tool("read_file", {"path": "/tmp/x"})
                assert other.content[0].text.startswith("read_file done")
    seen = actions(tmp_path / "audit.db")
    if mode == "legacy":  # mcpwall's own elicitation/create requests on the call's stream
        assert seen.count(("ask", "elicitation/create")) == 2
        assert [a for a, _ in seen].count("consume") == 2  # the answers stayed with mcpwall
    else:  # 2026-07-28: input_required answers, then retries carrying the user's answer
        assert seen.count(("respond", "tools/call")) == 2
        assert seen.count(("modify", "tools/call")) == 1  # forwarded without mcpwall's answer
        assert seen.count(("block", "tools/call")) == 1  # the declined retry


async def test_an_in_band_answer_is_single_use_and_bound_to_its_call(tmp_path: Path) -> None:
    """Replaying the approved retry, or carrying the answer over to other arguments, is refused."""
    config = gateway_config(tmp_path)
    env = {**os.environ, "MCPWALL_STATE_DIR": str(tmp_path / "state")}
    with proxy("--config", str(config), "--", sys.executable, str(SERVERS / "workspace_server.py"), env=env) as front:
        with anyio.fail_after(120):
            async with Client(front.url(), mode="auto", read_timeout_seconds=WAIT,
                              elicitation_callback=User("accept")) as client:
                first = await client.session.call_tool("delete_file", {"path": "/tmp/a"}, allow_input_required=True)
                assert first.result_type == "input_required"
                (key,) = first.input_requests
                answer = {key: types.ElicitResult(action="accept", content={"approve": True})}
                with pytest.raises(MCPError, match="not approved"):  # someone else's call
                    await client.session.call_tool("delete_file", {"path": "/tmp/other"}, input_responses=answer,
                                                   allow_input_required=True)
                done = await client.session.call_tool("delete_file", {"path": "/tmp/a"}, input_responses=answer,
                                                      allow_input_required=True)
                assert done.content[0].text == "delete_file done: path=/tmp/a"
                with pytest.raises(MCPError, match="not approved"):  # the same answer, replayed
                    await client.session.call_tool("delete_file", {"path": "/tmp/a"}, input_responses=answer,
                                                   allow_input_required=True)
    assert actions(tmp_path / "audit.db").count(("modify", "tools/call")) == 1


async def test_without_elicitation_the_gateway_blocks_and_names_the_command(tmp_path: Path) -> None:
    config = gateway_config(tmp_path)
    env = {**os.environ, "MCPWALL_STATE_DIR": str(tmp_path / "state")}
    with proxy("--config", str(config), "--", sys.executable, str(SERVERS / "workspace_server.py"), env=env) as front:
        with anyio.fail_after(120):
            async with Client(front.url(), mode="legacy", read_timeout_seconds=WAIT) as client:
                with pytest.raises(MCPError, match="mcpwall approvals grant"):
                    await client.call_tool("delete_file", {"path": "/tmp/a"})

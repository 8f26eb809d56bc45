"""Rug pulls: a real ``mcp`` SDK server changes a tool after its first call and says so with
``notifications/tools/list_changed`` (or offers the same tool under a new name). mcpwall,
having pinned the first listing, detects it, quarantines the tool in enforce mode (hidden
from tools/list, calls blocked with a reason naming ``mcpwall pins approve``), only records
it in monitor mode, and releases it once ``mcpwall pins approve`` is run in another process.
Prompts get the same treatment (``prompts/list_changed``, hidden, ``prompts/get`` blocked).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from wallpeer import SERVERS, mcpwall, wrapped_client, write_config

RUGPULL = str(SERVERS / "rugpull_server.py")


class ListChanged:
    """Collects list_changed notifications and lets a test wait for one (no sleeping)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def __call__(self, message: Any) -> None:
        root = getattr(message, "root", message)
        if isinstance(root, (types.ToolListChangedNotification, types.PromptListChangedNotification)) or \
                getattr(root, "method", "") in ("notifications/tools/list_changed", "notifications/prompts/list_changed"):
            self.event.set()


async def names(client: Any) -> list[str]:
    listed = await client.list_tools(cache_mode="bypass")
    return sorted(t.name for t in listed.tools)


def findings(audit: Path) -> list[dict[str, Any]]:
    con = sqlite3.connect(audit)
    try:
        rows = con.execute("SELECT findings FROM audit WHERE findings IS NOT NULL").fetchall()
    finally:
        con.close()
    return [f for (text,) in rows for f in json.loads(text)]


@pytest.mark.parametrize(
    ("mode", "changed_name", "drift_rule"),
    [("describe", "add", "pin.changed"), ("rename", "add_numbers", "pin.renamed")],
)
async def test_rug_pull_is_quarantined_in_enforce_mode_and_released_by_approval(
    tmp_path: Path, mode: str, changed_name: str, drift_rule: str
) -> None:
    audit = tmp_path / "audit.db"
    # Detection would also withhold the poisoned description, approved or not; this test is
    # about pins alone (tests/integration/test_wrap_detection.py covers detection).
    config = write_config(tmp_path / "mcpwall.yaml", audit, {"mode": "enforce", "detection": {"enabled": False}})
    changed = ListChanged()
    async with wrapped_client(config, [RUGPULL, mode], message_handler=changed) as client:
        assert await names(client) == ["add", "echo"]  # trusted on first use
        first = await client.call_tool("add", {"a": 1, "b": 2})
        assert first.content[0].text == "3.0"
        await asyncio.wait_for(changed.event.wait(), 10)

        assert await names(client) == ["echo"]  # the changed tool is hidden
        with pytest.raises(MCPError) as blocked:
            await client.call_tool(changed_name, {"a": 1, "b": 2})
        assert "mcpwall pins approve" in str(blocked.value) and "quarantined" in str(blocked.value)

        diff = mcpwall("pins", "diff")
        assert diff.returncode == 1
        if mode == "describe":
            assert "description" in diff.stdout and "IMPORTANT" in diff.stdout
        else:
            assert "renamed to 'add_numbers'" in diff.stdout
        refused = mcpwall("pins", "approve")  # no terminal, no --yes: shows the diff, refuses
        assert refused.returncode == 2 and "--yes" in refused.stderr

        approved = mcpwall("pins", "approve", "--yes")
        assert approved.returncode == 0, approved.stderr
        assert changed_name in approved.stdout  # the diff is shown before approving

        released = await client.call_tool(changed_name, {"a": 2, "b": 2})  # same session, no restart
        assert released.content[0].text == "4.0"
        assert changed_name in await names(client)
    assert drift_rule in {f["rule"] for f in findings(audit)}
    assert mcpwall("pins", "diff").returncode == 0


async def test_monitor_mode_records_drift_and_hides_nothing(tmp_path: Path) -> None:
    audit = tmp_path / "audit.db"
    config = write_config(tmp_path / "mcpwall.yaml", audit, {"mode": "monitor"})
    changed = ListChanged()
    async with wrapped_client(config, [RUGPULL, "describe"], message_handler=changed) as client:
        await names(client)
        await client.call_tool("add", {"a": 1, "b": 2})
        await asyncio.wait_for(changed.event.wait(), 10)
        assert await names(client) == ["add", "echo"]
        again = await client.call_tool("add", {"a": 1, "b": 1})
        assert again.content[0].text == "2.0"
    drift = [f for f in findings(audit) if f["rule"] == "pin.changed"]
    assert drift and "description" in drift[0]["message"]
    assert mcpwall("pins", "diff").returncode == 1  # still unapproved


async def test_a_pin_store_that_cannot_be_written_blocks_in_enforce_mode(tmp_path: Path) -> None:
    audit = tmp_path / "audit.db"
    bad = tmp_path / "not-a-dir"
    bad.write_text("a file where the state directory should be")
    config = write_config(tmp_path / "mcpwall.yaml", audit,
                          {"mode": "enforce", "pins": {"db": str(bad / "state.db")}})
    async with wrapped_client(config, [RUGPULL, "describe"]) as client:
        with pytest.raises(MCPError) as blocked:
            await client.list_tools(cache_mode="bypass")
        assert "pins" in str(blocked.value)


async def test_a_changed_prompt_is_quarantined_and_released_by_approval(tmp_path: Path) -> None:
    """The same defence for prompts: a prompt whose description turns malicious after the
    first call is hidden from prompts/list and cannot be fetched until approved."""
    audit = tmp_path / "audit.db"
    config = write_config(tmp_path / "mcpwall.yaml", audit, {"mode": "enforce", "detection": {"enabled": False}})
    changed = ListChanged()

    async def prompts(client: Any) -> list[str]:
        return sorted(p.name for p in (await client.list_prompts(cache_mode="bypass")).prompts)

    async with wrapped_client(config, [RUGPULL, "prompt"], message_handler=changed) as client:
        assert await prompts(client) == ["summarize"]
        assert (await client.get_prompt("summarize", {"text": "x"})).description == "Summarise a text."
        await client.call_tool("add", {"a": 1, "b": 2})  # the server changes now
        await asyncio.wait_for(changed.event.wait(), 10)

        assert await prompts(client) == []
        with pytest.raises(MCPError) as blocked:
            await client.get_prompt("summarize", {"text": "x"})
        assert "quarantined" in str(blocked.value) and "mcpwall pins approve" in str(blocked.value)
        diff = mcpwall("pins", "diff")
        assert diff.returncode == 1 and "aws/credentials" in diff.stdout

        assert mcpwall("pins", "approve", "--yes").returncode == 0
        assert await prompts(client) == ["summarize"]
        assert "aws/credentials" in (await client.get_prompt("summarize", {"text": "x"})).description
    assert "pin.changed" in {f["rule"] for f in findings(audit)}

"""A denied tool call through ``mcpwall wrap``, with real peers: the ``mcp`` SDK client and
@modelcontextprotocol/server-everything, with a byte tee in front of the server.

Enforce mode: the client gets a JSON-RPC error naming the rule, the server never sees the
call (the tee proves it), and the audit log holds a committed ``block`` row. Monitor mode
with the same policy: the call goes through, and the audit row records the ``block`` that
enforce mode would have applied.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from harness import frames
from mcp import Client, MCPError, StdioServerParameters

import peers

pytestmark = pytest.mark.integration

POLICY = """\
mode: {mode}
audit:
  path: {audit}
  key_file: {key}
policy:
  default: allow
  rules:
    - name: no-echo
      match: {{method: "tools/call", tool: "echo"}}
      action: deny
      reason: echo is not allowed here
"""


async def run(tmp_path: Path, mode: str) -> tuple[Any, Any, list[dict[str, Any]], list[bytes]]:
    cfg = tmp_path / "mcpwall.yaml"
    cfg.write_text(POLICY.format(mode=mode, audit=json.dumps(str(tmp_path / "audit.db")),
                                 key=json.dumps(str(tmp_path / "audit.key"))))
    tee_dir = tmp_path / "tee"
    server = peers.tee_cmd(tee_dir, peers.everything_cmd("stdio"))
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcpwall", "wrap", "--config", str(cfg), "--", *server],
        env=dict(os.environ),
    )
    echo: Any
    async with Client(params, mode="legacy") as client:
        try:
            echo = await client.call_tool("echo", {"message": "hello"})
        except MCPError as e:
            echo = e
        other = await client.call_tool("get-sum", {"a": 2, "b": 3})
    con = sqlite3.connect(tmp_path / "audit.db")
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM audit WHERE tool IS NOT NULL ORDER BY seq")]
    con.close()
    received = frames((tee_dir / "stdin.bin").read_bytes())
    return echo, other, rows, received


async def test_enforce_mode_blocks_the_call_before_the_server(tmp_path: Path) -> None:
    echo, other, rows, received = await run(tmp_path, "enforce")
    assert isinstance(echo, MCPError)
    assert echo.error.code == -32001
    assert "no-echo" in echo.error.message and "echo is not allowed here" in echo.error.message
    assert "5" in json.dumps(other.model_dump(mode="json"))  # other tools still work
    calls = [json.loads(f) for f in received if b'"tools/call"' in f]
    assert [c["params"]["name"] for c in calls] == ["get-sum"]  # the server never saw echo
    block = [r for r in rows if r["tool"] == "echo"]
    assert len(block) == 1 and block[0]["action"] == "block" and block[0]["enforced"] == 1
    assert block[0]["rule"] == "no-echo" and block[0]["direction"] == "c2s"


async def test_monitor_mode_passes_the_call_and_records_the_block(tmp_path: Path) -> None:
    echo, _, rows, received = await run(tmp_path, "monitor")
    assert not isinstance(echo, MCPError)
    assert "hello" in json.dumps(echo.model_dump(mode="json"))
    calls = [json.loads(f) for f in received if b'"tools/call"' in f]
    assert [c["params"]["name"] for c in calls] == ["echo", "get-sum"]
    request = next(r for r in rows if r["tool"] == "echo" and r["direction"] == "c2s")
    assert request["action"] == "block" and request["enforced"] == 0 and request["rule"] == "no-echo"
    response = next(r for r in rows if r["tool"] == "echo" and r["direction"] == "s2c")
    assert response["action"] == "pass"

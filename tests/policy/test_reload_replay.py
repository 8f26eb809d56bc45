"""Reloading a running ``mcpwall wrap`` (SIGHUP, file change) without dropping its session, and
``mcpwall policy check|explain|test`` on files and on a recorded audit database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from wallpeer import SERVERS, mcpwall, write_config

ECHO = [sys.executable, str(SERVERS / "echo_server.py")]


def deny(*tools: str, watch: float = 0) -> dict[str, Any]:
    return {"mode": "enforce", "policy": {"watch_seconds": watch, "rules": [
        {"name": f"no-{t}", "match": {"tool": t}, "action": "deny"} for t in tools]}}


class Wrap:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0

    async def call(self, tool: str) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call", "params": {"name": tool, "arguments": {}}}
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        await self.proc.stdin.drain()
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 10))
        assert reply["id"] == self.next_id
        return reply

    async def log_line(self, needle: str) -> str:
        """Wait for mcpwall to log a line containing ``needle`` (no sleeping)."""
        assert self.proc.stderr
        while True:
            line = (await asyncio.wait_for(self.proc.stderr.readline(), 10)).decode()
            assert line, f"mcpwall exited before logging {needle!r}"
            if needle in line:
                return line


async def start(config: Path) -> Wrap:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mcpwall", "wrap", "--config", str(config), "--", *ECHO,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ))
    return Wrap(proc)


def blocked(reply: dict[str, Any]) -> bool:
    return "error" in reply


async def test_sighup_reloads_the_policy_and_a_bad_policy_is_rejected(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mcpwall.yaml", tmp_path / "audit.db", deny("alpha"))
    wrap = await start(config)
    try:
        assert blocked(await wrap.call("alpha")) and not blocked(await wrap.call("beta"))

        write_config(config, tmp_path / "audit.db", deny("beta"))
        wrap.proc.send_signal(signal.SIGHUP)
        await wrap.log_line("policy reloaded")
        assert not blocked(await wrap.call("alpha")) and blocked(await wrap.call("beta"))  # same session

        config.write_text("mode: enforce\npolicy:\n  rules:\n    - name: x\n      match: {colour: red}\n      action: deny\n")
        wrap.proc.send_signal(signal.SIGHUP)
        failure = await wrap.log_line("policy reload failed")
        assert "unknown key" in failure or "colour" in failure
        assert blocked(await wrap.call("beta")) and not blocked(await wrap.call("alpha"))  # old policy kept
        assert wrap.proc.returncode is None  # SIGHUP did not stop mcpwall or its server
    finally:
        assert wrap.proc.stdin
        wrap.proc.stdin.close()
        assert await asyncio.wait_for(wrap.proc.wait(), 20) == 0


async def test_a_changed_policy_file_is_picked_up(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mcpwall.yaml", tmp_path / "audit.db", deny("alpha", watch=0.05))
    wrap = await start(config)
    try:
        assert blocked(await wrap.call("alpha"))
        write_config(config, tmp_path / "audit.db", deny("gamma", watch=0.05))
        await wrap.log_line("policy reloaded")
        assert not blocked(await wrap.call("alpha")) and blocked(await wrap.call("gamma"))
    finally:
        assert wrap.proc.stdin
        wrap.proc.stdin.close()
        await asyncio.wait_for(wrap.proc.wait(), 20)


async def test_policy_test_replays_an_audit_log_and_prints_changed_decisions(tmp_path: Path) -> None:
    audit = tmp_path / "audit.db"
    config = write_config(tmp_path / "mcpwall.yaml", audit, deny("fetch"))
    wrap = await start(config)
    for tool in ("run_shell", "fetch", "read_file"):
        await wrap.call(tool)
    assert wrap.proc.stdin
    wrap.proc.stdin.close()
    await asyncio.wait_for(wrap.proc.wait(), 20)

    new = tmp_path / "new.yaml"
    new.write_text(yaml.safe_dump({"policy": {"rules": [
        {"name": "no-shell", "match": {"tool": "run_*"}, "action": "deny"}]}}))
    out = mcpwall("policy", "test", str(new), "--against", str(audit))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any("tools/call run_shell: allowed -> blocked (rule no-shell)" in line for line in lines)
    assert any("tools/call fetch: blocked -> allowed" in line for line in lines)
    assert not any("read_file" in line for line in lines)
    assert "2 decision(s) would change" in out.stdout
    assert mcpwall("policy", "test", str(new), "--against", str(audit), "--fail-on-change").returncode == 1


def test_policy_check_finds_errors_dead_and_shadowed_rules(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({"policy": {"rules": [
        {"name": "all-tools", "match": {"method": "tools/call"}, "action": "deny"},
        {"name": "shadowed", "match": {"method": "tools/call", "tool": "run_*"}, "action": "allow"},
        {"name": "never", "match": {"method": "resources/read", "tool": "x"}, "action": "deny"},
        {"name": "typo", "match": {"method": "tools/cal"}, "action": "deny"},
    ]}}))
    out = mcpwall("policy", "check", str(good))
    assert out.returncode == 0
    assert "'shadowed' is shadowed by the earlier rule 'all-tools'" in out.stdout
    assert "'never' can never match" in out.stdout
    assert "'typo'" in out.stdout
    assert mcpwall("policy", "check", "--strict", str(good)).returncode == 1

    bad = tmp_path / "bad.yaml"
    bad.write_text("policy:\n  rules:\n    - name: x\n      mach: {tool: a}\n      action: deny\n")
    out = mcpwall("policy", "check", str(bad))
    assert out.returncode == 1 and "policy.rules.0.mach" in out.stderr and "unknown key" in out.stderr


def test_policy_explain_names_the_deciding_rule_and_why_others_missed(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"policy": {"rules": [
        {"name": "evil-urls", "match": {"tool": "fetch", "arguments": {"$.url": "*evil*"}}, "action": "deny"},
        {"name": "trifecta", "match": {"labels": "external_sink", "after": ["private_data", "untrusted_input"]},
         "action": "deny"},
    ]}}))
    out = mcpwall("policy", "explain", str(path), "--tool", "fetch", "--args", '{"url": "https://ok"}')
    assert "evil-urls: no: argument $.url is not glob ['*evil*']" in out.stdout
    assert "decision: allow by the default" in out.stdout
    out = mcpwall("policy", "explain", str(path), "--tool", "send_email", "--touched", "private_data",
                  "--touched", "untrusted_input")
    assert "trifecta: MATCH -> deny" in out.stdout and "decision: deny by rule 'trifecta'" in out.stdout

"""The official conformance suite through ``mcpwall proxy``: both ways, compared with direct.

tests/conformance/run.py runs ``@modelcontextprotocol/conformance server`` (Node 22) against
the conformance test server directly, through mcpwall in front of it over Streamable HTTP,
and through mcpwall's stdio bridge in front of it over stdio. Every scenario that passes
directly must pass both ways. ``dns-rebinding-protection`` is also run against mcpwall in
front of an upstream that checks nothing (tests/transports/fake_upstream.py), so its pass is
mcpwall's own doing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gateway import free_port, proxy, running

import peers

TESTS = Path(__file__).resolve().parents[1]
RUN = TESTS / "conformance" / "run.py"

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

PROXY = f"{sys.executable} -m mcpwall proxy"


def run(*args: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1"}
    out = subprocess.run([sys.executable, str(RUN), *args], capture_output=True, text=True, timeout=850, env=env)
    assert out.stdout.strip(), out.stderr[-3000:]
    report = json.loads(out.stdout)
    return {name: r["status"] for name, r in report["scenarios"].items()}


@pytest.fixture(scope="module")
def direct() -> dict[str, str]:
    peers.node22()
    peers.conformance_entry()
    results = run()
    assert results, "the suite ran no scenario"
    return results


@pytest.mark.parametrize(("label", "args"), [
    ("http", ["--front", PROXY + " --upstream {upstream_url} --listen 127.0.0.1:{port}"]),
    ("stdio", ["--upstream", "stdio", "--front", PROXY + " --listen 127.0.0.1:{port} -- {upstream_argv}"]),
])
def test_every_scenario_passing_directly_passes_through_mcpwall(direct: dict[str, str], label: str,
                                                                args: list[str]) -> None:
    through = run(*args)
    passing = sorted(n for n, s in direct.items() if s == "pass")
    lost = [n for n in passing if through.get(n) != "pass"]
    assert not lost, f"through mcpwall ({label}) these no longer pass: {lost}"
    assert "dns-rebinding-protection" in passing


def test_dns_rebinding_protection_is_mcpwalls_own(tmp_path: Path) -> None:
    peers.node22()
    up_port = free_port()
    with running([sys.executable, str(TESTS / "transports" / "fake_upstream.py"), str(up_port)], up_port), \
            proxy("--upstream", f"http://127.0.0.1:{up_port}/mcp",
                  env={**os.environ, "MCPWALL_AUDIT__PATH": str(tmp_path / "a.db")}) as front:
        # The bare upstream lets the rebinding request through; mcpwall in front of it does not.
        bare = run("--url", f"http://127.0.0.1:{up_port}/mcp", "--scenario", "dns-rebinding-protection")
        fronted = run("--url", front.url(), "--scenario", "dns-rebinding-protection")
        assert bare == {"dns-rebinding-protection": "fail"}
        assert fronted == {"dns-rebinding-protection": "pass"}

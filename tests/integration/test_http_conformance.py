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
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
RUN = TESTS / "conformance" / "run.py"
sys.path.insert(0, str(TESTS))

import peers  # noqa: E402

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dns_rebinding_protection_is_mcpwalls_own(tmp_path: Path) -> None:
    peers.node22()
    up_port, port = _free_port(), _free_port()
    upstream = subprocess.Popen([sys.executable, str(TESTS / "transports" / "fake_upstream.py"), str(up_port)])
    proxy = subprocess.Popen([sys.executable, "-m", "mcpwall", "proxy", "--upstream",
                              f"http://127.0.0.1:{up_port}/mcp", "--listen", f"127.0.0.1:{port}"],
                             env={**os.environ, "MCPWALL_AUDIT__PATH": str(tmp_path / "a.db")})
    try:
        for p in (up_port, port):
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", p), timeout=0.2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
        # The bare upstream lets the rebinding request through; mcpwall in front of it does not.
        bare = run("--url", f"http://127.0.0.1:{up_port}/mcp", "--scenario", "dns-rebinding-protection")
        fronted = run("--url", f"http://127.0.0.1:{port}/mcp", "--scenario", "dns-rebinding-protection")
        assert bare == {"dns-rebinding-protection": "fail"}
        assert fronted == {"dns-rebinding-protection": "pass"}
    finally:
        for p in (proxy, upstream):
            p.terminate()
            p.wait(10)

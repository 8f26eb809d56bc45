"""server-everything (streamableHttp) through ``mcpwall proxy``: the Inspector CLI sees identical results.

A first parity check; the SDK-client comparison with a resumed GET stream is still to come.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

import peers  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, f"{proc.args} exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


@pytest.fixture(scope="module")
def urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    cmd = peers.everything_cmd("streamableHttp")
    up, front = _free_port(), _free_port()
    audit = tmp_path_factory.mktemp("audit") / "a.db"
    server = subprocess.Popen(cmd, env={**os.environ, "PORT": str(up)}, stdout=subprocess.DEVNULL)
    proxy = subprocess.Popen([sys.executable, "-m", "mcpwall", "proxy", "--upstream", f"http://127.0.0.1:{up}/mcp",
                              "--listen", f"127.0.0.1:{front}"], env={**os.environ, "MCPWALL_AUDIT__PATH": str(audit)})
    try:
        _wait(up, server)
        _wait(front, proxy)
        yield f"http://127.0.0.1:{up}/mcp", f"http://127.0.0.1:{front}/mcp"
    finally:
        for p in (proxy, server):
            p.terminate()
            p.wait(15)


@pytest.mark.parametrize("options", [
    ["--method", "tools/list"],
    ["--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=hi"],
    ["--method", "tools/call", "--tool-name", "get-sum", "--tool-arg", "a=2", "--tool-arg", "b=3"],
    ["--method", "prompts/list"],
    ["--method", "resources/list"],
    ["--method", "resources/templates/list"],
])
def test_inspector_cli_sees_the_same_results_directly_and_through_mcpwall(urls: tuple[str, str],
                                                                         options: list[str]) -> None:
    results = []
    for url in urls:
        r = subprocess.run(peers.inspector_cli_cmd(url, *options, "--transport", "http"),
                           capture_output=True, text=True, timeout=60)
        results.append((r.returncode, r.stdout))
    assert results[0][0] == 0, results[0]
    assert results[1] == results[0]

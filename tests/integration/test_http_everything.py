"""server-everything (streamableHttp) through ``mcpwall proxy``: the Inspector CLI sees identical results.

A first parity check; the SDK-client comparison with a resumed GET stream is still to come.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from gateway import free_port, proxy, running

import peers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    up = free_port()
    audit = tmp_path_factory.mktemp("audit") / "a.db"
    with running(peers.everything_cmd("streamableHttp"), up, env={**os.environ, "PORT": str(up)}, quiet=True), \
            proxy("--upstream", f"http://127.0.0.1:{up}/mcp", env={**os.environ, "MCPWALL_AUDIT__PATH": str(audit)}
                  ) as front:
        yield f"http://127.0.0.1:{up}/mcp", front.url()


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

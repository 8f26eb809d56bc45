"""Shared fixtures: isolated state directories, so no test touches the user's real state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
ECHO_SERVER = TESTS / "servers" / "echo_server.py"


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = tmp_path / "state"
    monkeypatch.setenv("MCPWALL_STATE_DIR", str(state))
    for name in list(__import__("os").environ):
        if name.startswith("MCPWALL_") and name != "MCPWALL_STATE_DIR":
            monkeypatch.delenv(name, raising=False)
    yield state

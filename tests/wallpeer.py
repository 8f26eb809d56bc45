"""Helpers for driving ``mcpwall wrap`` with the official ``mcp`` SDK client and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPDeprecationWarning

warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

SERVERS = Path(__file__).resolve().parent / "servers"


def write_config(path: Path, audit: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"audit": {"path": str(audit)}, **data}), encoding="utf-8")
    return path


def mcpwall(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the mcpwall CLI in another process (it shares the test's state directory)."""
    return subprocess.run([sys.executable, "-m", "mcpwall", *args], capture_output=True, text=True,
                          input=stdin, env=dict(os.environ), timeout=60)


@asynccontextmanager
async def wrapped_client(config: Path, server: list[str], **client_args: Any) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcpwall", "wrap", "--config", str(config), "--", sys.executable, *server],
        env=dict(os.environ),
    )
    async with Client(params, mode="legacy", **client_args) as client:
        yield client

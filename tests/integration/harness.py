"""Drive a real stdio MCP server directly and through ``mcpwall wrap``, recording the bytes.

A *route* is how a client reaches the server:

- ``direct``:  client -> tee(server) -> server
- ``wrapped``: client -> tee(client) -> mcpwall wrap (monitor) -> tee(server) -> server

The tee shims (tests/servers/tee.py) record the exact bytes on each side of mcpwall,
so a test can prove that what the server received is what the client sent.  The
direct route has a tee too, so both routes start the same process shapes.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import peers

# How to start mcpwall; TEST_MCPWALL_COMMAND overrides it (e.g. an installed `mcpwall`
# binary, or a checkout under test).  Not MCPWALL_*: that prefix is mcpwall's own config.
MCPWALL = shlex.split(os.environ.get("TEST_MCPWALL_COMMAND", "")) or [sys.executable, "-m", "mcpwall"]


@dataclass(frozen=True)
class Route:
    name: str
    workdir: Path

    @property
    def wrapped(self) -> bool:
        return self.name == "wrapped"

    @property
    def config(self) -> Path:
        return self.workdir / "mcpwall.yaml"

    @property
    def audit(self) -> Path:
        return self.workdir / "audit.db"

    @property
    def state(self) -> Path:
        # Shared by both routes of a run: a server that reports its environment
        # (server-everything's get-env) must see the same one either way.
        return self.workdir.parent / "state"

    def prepare(self) -> Route:
        """Write the monitor-mode config that keeps every mcpwall file inside ``workdir``."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "mode: monitor\n"
            "audit:\n"
            f"  path: {json.dumps(str(self.audit))}\n"
            f"  key_file: {json.dumps(str(self.workdir / 'audit.key'))}\n",
            encoding="utf-8",
        )
        return self

    def env(self) -> dict[str, str]:
        """Variables the client must pass down so no mcpwall state lands outside ``workdir``."""
        return {"MCPWALL_STATE_DIR": str(self.state)}

    def command(self, server: list[str], tag: str) -> list[str]:
        """argv the client starts to reach ``server``; bytes are logged under ``workdir/tag``."""
        logs = self.workdir / tag
        behind = peers.tee_cmd(logs / "server", server)
        if not self.wrapped:
            return behind
        wrap = [*MCPWALL, "wrap", "--config", str(self.config), "--", *behind]
        return peers.tee_cmd(logs / "client", wrap)

    def logs(self, tag: str) -> Path:
        return self.workdir / tag


def routes(root: Path) -> tuple[Route, Route]:
    return Route("direct", root / "direct").prepare(), Route("wrapped", root / "wrapped").prepare()


def frames(data: bytes) -> list[bytes]:
    """Newline-delimited frames; a trailing partial line is kept as its own item."""
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return parts


def _method(frame: bytes) -> str | None:
    try:
        decoded = json.loads(frame)
    except ValueError:
        return None
    if isinstance(decoded, dict):
        method = decoded.get("method")
        return method if isinstance(method, str) and "id" not in decoded else None
    return None


def byte_mismatch(logs: Path) -> list[str]:
    """Compare the bytes on both sides of mcpwall; return readable problems, empty when equal.

    Client to server must be identical.  Server to client must be identical too, except
    that frames the server wrote after the client hung up may never be delivered (the
    relay is stopping); those may only be notifications, never responses or requests.
    """
    problems: list[str] = []
    sent = (logs / "client" / "stdin.bin").read_bytes()
    received = (logs / "server" / "stdin.bin").read_bytes()
    if sent != received:
        problems.append(_first_difference("client->server", frames(sent), frames(received)))
    emitted = frames((logs / "server" / "stdout.bin").read_bytes())
    delivered = frames((logs / "client" / "stdout.bin").read_bytes())
    if emitted[: len(delivered)] != delivered:
        problems.append(_first_difference("server->client", emitted, delivered))
    else:
        undelivered = [f for f in emitted[len(delivered) :] if _method(f) is None]
        if undelivered:
            problems.append(
                f"server->client: {len(undelivered)} non-notification frame(s) never reached the client, "
                f"first: {undelivered[0][:300]!r}"
            )
    return problems


def _first_difference(direction: str, expected: list[bytes], actual: list[bytes]) -> str:
    for index, (left, right) in enumerate(zip(expected, actual, strict=False)):
        if left != right:
            return f"{direction}: frame {index} differs:\n  sent:     {left[:400]!r}\n  received: {right[:400]!r}"
    return f"{direction}: {len(expected)} frame(s) sent, {len(actual)} received; first extra: " + repr(
        (expected[len(actual) :] or actual[len(expected) :])[0][:400]
    )


def child_env(route: Route) -> dict[str, str]:
    """The environment for a client process (the Inspector) started by a test."""
    return {**os.environ, **route.env()}

"""Where the real MCP test peers live and the argv that starts each of them.

The peers are npm packages pinned in tests/package.json and installed with
``npm ci --prefix tests``; Node 22 itself comes from the npm package ``node``
so the suite never depends on the machine's own Node.  Every command is an
argv list (no shell) that starts ``node <entry file>`` directly, so the
process a test talks to is the peer itself and not an npx/npm wrapper.

When a peer is missing, a test using it is skipped with the install command in
the reason -- except under CI (the ``CI`` environment variable is set), where
the peers are part of the contract and a missing one is a test failure.
Outside pytest (the conformance runner) a missing peer raises
:class:`PeerMissingError`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
NODE_MODULES = TESTS_DIR / "node_modules"
SERVERS_DIR = TESTS_DIR / "servers"

INSTALL_HINT = "install the npm test peers with: npm ci --prefix tests"

EVERYTHING_MODES = ("stdio", "sse", "streamableHttp")


class PeerMissingError(RuntimeError):
    """A test peer is not installed where tests/package.json puts it."""


def in_ci() -> bool:
    """True when missing peers must fail the run instead of skipping."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> NoReturn:
    """Skip (locally), fail (under CI) or raise (outside pytest) for a missing peer."""
    message = f"{reason}; {INSTALL_HINT}"
    if "pytest" in sys.modules and "_pytest" in sys.modules:
        import pytest

        if in_ci():
            pytest.fail(f"test peer missing under CI: {message}", pytrace=False)
        pytest.skip(message)
    raise PeerMissingError(message)


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        missing(f"{what} not found at {path}")
    return path


def _package_file(package: str, relative: str) -> Path:
    return _require(NODE_MODULES / package / relative, f"npm package {package}")


def node22() -> str:
    """Path of the Node 22 binary installed from the npm package ``node@22``."""
    name = "node.exe" if sys.platform == "win32" else "node"
    return str(_require(NODE_MODULES / "node" / "bin" / name, "Node 22 (npm package node@22)"))


def everything_entry() -> str:
    return str(_package_file("@modelcontextprotocol/server-everything", "dist/index.js"))


def filesystem_entry() -> str:
    return str(_package_file("@modelcontextprotocol/server-filesystem", "dist/index.js"))


def inspector_entry() -> str:
    # The 2.x Inspector's launcher runs the non-interactive CLI when its first
    # argument is --cli; the separate inspector-cli package is the deprecated 1.x line.
    return str(_package_file("@modelcontextprotocol/inspector", "clients/launcher/build/index.js"))


def conformance_entry() -> str:
    return str(_package_file("@modelcontextprotocol/conformance", "dist/index.js"))


def sarif_multitool() -> str:
    """Microsoft's SARIF Multitool (npm ``@microsoft/sarif-multitool``, Linux x64 build): its
    ``validate --rule-kind Gh`` checks what GitHub code scanning requires of an upload."""
    if not (sys.platform.startswith("linux") and os.uname().machine in ("x86_64", "AMD64")):
        missing("the SARIF Multitool test peer is installed for Linux x64 only")
    path = _package_file("@microsoft/sarif-multitool-linux", "Sarif.Multitool")
    if not os.access(path, os.X_OK):  # what the package's postinstall script does
        path.chmod(path.stat().st_mode | 0o100)
    return str(path)


def everything_cmd(mode: str = "stdio") -> list[str]:
    """argv for @modelcontextprotocol/server-everything in ``stdio``, ``sse`` or ``streamableHttp`` mode.

    The HTTP modes listen on the port in the ``PORT`` environment variable (default 3001).
    """
    if mode not in EVERYTHING_MODES:
        raise ValueError(f"server-everything mode must be one of {EVERYTHING_MODES}, not {mode!r}")
    return [node22(), everything_entry(), mode]


def filesystem_cmd(*roots: str | os.PathLike[str]) -> list[str]:
    """argv for @modelcontextprotocol/server-filesystem (stdio) allowed to touch ``roots``."""
    if not roots:
        raise ValueError("server-filesystem needs at least one allowed directory")
    return [node22(), filesystem_entry(), *(os.fspath(r) for r in roots)]


def inspector_cli_cmd(target: Sequence[str] | str, *options: str, output_format: str = "json") -> list[str]:
    """argv for one non-interactive MCP Inspector CLI call.

    ``target`` is either a server URL (``.../mcp`` means Streamable HTTP, ``.../sse``
    legacy SSE; pass ``--transport`` in ``options`` to force one) or the argv of a
    stdio server.  ``options`` are CLI options such as ``--method tools/call
    --tool-name echo --tool-arg message=hi``.  With the default ``--format json`` the
    CLI prints one JSON object on stdout, ``{"result": <the JSON-RPC result>}``, and
    exits 0; on failure stdout is empty, stderr ends with ``{"error": {"code": ...,
    "message": ...}}`` and the exit code is non-zero.  Methods it supports: initialize,
    tools/list, tools/call, resources/list, resources/read, resources/templates/list,
    prompts/list, prompts/get, logging/setLevel (no ping or completion).  The target
    comes after ``--`` so options of the server's own argv are never read as the
    Inspector's.
    """
    argv = [node22(), inspector_entry(), "--cli", "--format", output_format, *options]
    if isinstance(target, str):
        return [*argv, target]
    return [*argv, "--", *target]


def conformance_cmd(*args: str) -> list[str]:
    """argv for the @modelcontextprotocol/conformance CLI, e.g. ``conformance_cmd("server", "--url", url)``."""
    return [node22(), conformance_entry(), *args]


def conformance_server_cmd(*args: str) -> list[str]:
    """argv that starts tests/servers/conformance_server.py with this interpreter."""
    return [sys.executable, str(SERVERS_DIR / "conformance_server.py"), *args]


def tee_cmd(log_dir: str | os.PathLike[str], command: Sequence[str]) -> list[str]:
    """argv that runs ``command`` behind the byte-recording stdio shim tests/servers/tee.py."""
    return [sys.executable, str(SERVERS_DIR / "tee.py"), "--log", os.fspath(log_dir), "--", *command]

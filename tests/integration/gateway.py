"""Start the processes an HTTP integration test needs: upstream servers and ``mcpwall proxy``.

Every HTTP test starts a server on a free loopback port, waits until something listens
there, often puts ``mcpwall proxy`` in front of it with a monitor-mode config whose files
stay in the test's directory, and stops both at the end. This module does that once:

- :func:`free_port` and :func:`wait_port` (fails at once if the process exits first);
- :func:`monitor_config`: the config file, with extra top-level keys merged in;
- :func:`running`: a context manager that starts an argv, waits for its port, and
  terminates it on exit;
- :func:`proxy`: ``mcpwall proxy --listen 127.0.0.1:<port> ARGS...`` as a :class:`Proxy`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import MCPWALL

STARTUP = 30.0  # seconds a process gets to start listening
STOP = 15.0  # seconds it gets to exit after SIGTERM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[Any], timeout: float = STARTUP) -> None:
    """Return once something accepts connections on ``port``; fail if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"{proc.args!r} exited with {proc.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port} after {timeout} s: {proc.args!r}"
            time.sleep(0.05)


def monitor_config(workdir: Path, name: str = "mcpwall.yaml", audit: str = "audit.db",
                   **extra: Any) -> Path:
    """A monitor-mode config keeping the audit log and its key in ``workdir``; ``extra`` adds keys.

    Written as JSON, which is YAML too.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / name
    config.write_text(json.dumps({
        "mode": "monitor",
        "audit": {"path": str(workdir / audit), "key_file": str(workdir / "audit.key")},
        **extra,
    }), encoding="utf-8")
    return config


@contextlib.contextmanager
def running(argv: Sequence[str], port: int, *, env: Mapping[str, str] | None = None,
            quiet: bool = False) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv``, wait for ``port``, and terminate the process when the block ends."""
    proc = subprocess.Popen(list(argv), env=dict(env) if env is not None else None,
                            stdout=subprocess.DEVNULL if quiet else None)
    try:
        wait_port(port, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(STOP)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Proxy:
    """A running ``mcpwall proxy``."""

    port: int
    proc: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/mcp") -> str:
        return self.base + path


def proxy_cmd(port: int, *args: str) -> list[str]:
    return [*MCPWALL, "proxy", "--listen", f"127.0.0.1:{port}", *args]


@contextlib.contextmanager
def proxy(*args: str, env: Mapping[str, str] | None = None, port: int | None = None) -> Iterator[Proxy]:
    """``mcpwall proxy ARGS...`` on a free port (or ``port``), stopped when the block ends.

    ``args`` name the target: ``--upstream URL``, ``--config FILE`` or ``-- COMMAND ...``.
    """
    port = port if port is not None else free_port()
    with running(proxy_cmd(port, *args), port, env=env if env is not None else os.environ) as proc:
        yield Proxy(port, proc)

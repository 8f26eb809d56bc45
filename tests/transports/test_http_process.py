"""``mcpwall proxy`` as a process: SIGTERM with open streams exits within the drain time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DRAIN = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{proc.args} exited with {proc.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(port)


def http(port: int, method: str, body: bytes = b"", headers: dict[str, str] | None = None) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    h = {"host": f"127.0.0.1:{port}", "content-type": "application/json",
         "accept": "application/json, text/event-stream", "content-length": str(len(body)), **(headers or {})}
    s.sendall(f"{method} /mcp HTTP/1.1\r\n".encode() + b"".join(f"{k}: {v}\r\n".encode() for k, v in h.items())
              + b"\r\n" + body)
    return s


def read_until(s: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.timeout(60)
def test_sigterm_with_open_streams_exits_within_the_drain_time(tmp_path: Path) -> None:
    up_port, port = free_port(), free_port()
    upstream = subprocess.Popen([sys.executable, str(HERE / "fake_upstream.py"), str(up_port)])
    env = {**os.environ, "MCPWALL_HTTP__DRAIN_TIMEOUT": str(DRAIN), "MCPWALL_AUDIT__PATH": str(tmp_path / "a.db")}
    proxy = subprocess.Popen([sys.executable, "-m", "mcpwall", "proxy", "--upstream",
                              f"http://127.0.0.1:{up_port}/mcp", "--listen", f"127.0.0.1:{port}"], env=env)
    try:
        wait_port(up_port, upstream)
        wait_port(port, proxy)
        init = (b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
                b'"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}')
        s = http(port, "POST", init)
        head = read_until(s, b"\r\n\r\n").decode()
        sid = next(line.split(":", 1)[1].strip() for line in head.split("\r\n")
                   if line.lower().startswith("mcp-session-id:"))
        get = http(port, "GET", headers={"mcp-session-id": sid, "accept": "text/event-stream"})
        assert b"notifications/message" in read_until(get, b"notifications/message")
        hang = http(port, "POST", b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hang"}}',
                    {"mcp-session-id": sid})
        assert b"id: p0" in read_until(hang, b"id: p0")
        started = time.monotonic()
        proxy.send_signal(signal.SIGTERM)
        code = proxy.wait(timeout=DRAIN + 8)
        elapsed = time.monotonic() - started
        assert code == 0
        assert elapsed < DRAIN + 8
        # The GET stream was ended at once (chunked terminator), not left hanging.
        get.settimeout(1)
        assert read_until(get, b"0\r\n\r\n").endswith(b"0\r\n\r\n")
    finally:
        for p in (proxy, upstream):
            if p.poll() is None:
                p.kill()
                p.wait()

"""stdio: framing, and ``mcpwall wrap`` as a real process in front of a real child process.

Each wrap test starts ``python -m mcpwall wrap`` with pipes, like an MCP client would, in
front of tests/servers/echo_server.py (which logs every byte it receives), and waits on
its output with timeouts, never on sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpwall.transports.stdio import LineReader, Oversized

TESTS = Path(__file__).resolve().parents[1]
ECHO = TESTS / "servers" / "echo_server.py"
TIMEOUT = 60  # generous: a loaded CI machine can take seconds to start a wrap


def reader_over(data: bytes, chunk: int) -> LineReader:
    pos = 0

    async def read(_: int) -> bytes:
        nonlocal pos
        piece = data[pos : pos + chunk]
        pos += len(piece)
        return piece

    return LineReader(read, max_bytes=50)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80).map(lambda b: b.replace(b"\n", b"")), max_size=8), st.integers(1, 40))
def test_line_framing_splits_exactly_and_flags_oversized_lines(lines: list[bytes], chunk: int) -> None:
    data = b"".join(line + b"\n" for line in lines)

    async def collect() -> list[bytes | Oversized]:
        return [item async for item in reader_over(data, chunk)]

    got = asyncio.run(collect())
    expected = [line for line in lines if line.strip()]
    assert len(got) == len(expected)
    for item, line in zip(got, expected, strict=True):
        if len(line) > 50:
            assert isinstance(item, Oversized) and item.size == len(line) and line.startswith(item.head)
        else:
            assert item == line


class Wrapped:
    """A running ``mcpwall wrap`` with the client side of its stdio."""

    def __init__(self, proc: asyncio.subprocess.Process, server_log: Path, audit: Path) -> None:
        self.proc = proc
        self.server_log = server_log
        self.audit = audit

    async def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data if data.endswith(b"\n") else data + b"\n")
        await self.proc.stdin.drain()

    async def recv(self) -> Any:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), TIMEOUT)
        assert line, "mcpwall closed its stdout"
        return json.loads(line)

    async def call(self, msg_id: Any, method: str = "ping", **params: Any) -> Any:
        await self.send(json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}).encode())
        return await self.recv()

    async def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return await asyncio.wait_for(self.proc.wait(), TIMEOUT)

    def received(self) -> list[bytes]:
        return self.server_log.read_bytes().splitlines() if self.server_log.exists() else []

    def audit_rows(self) -> list[dict[str, Any]]:
        con = sqlite3.connect(self.audit)
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute("SELECT * FROM audit ORDER BY seq")]
        con.close()
        return rows


async def start(tmp_path: Path, *wrap_args: str, command: list[str] | None = None,
                env: dict[str, str] | None = None, dashdash: bool = True) -> Wrapped:
    server_log = tmp_path / "server.log"
    audit = tmp_path / "audit.db"
    command = command or [sys.executable, str(ECHO)]
    args = [sys.executable, "-m", "mcpwall", "wrap", "--audit", str(audit), *wrap_args]
    args += ["--", *command] if dashdash else command
    full_env = {**os.environ, "ECHO_LOG": str(server_log), **(env or {})}
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=open(tmp_path / "stderr.log", "wb"), env=full_env, limit=1 << 24,  # noqa: SIM115
    )
    return Wrapped(proc, server_log, audit)


@pytest.fixture
async def wrapped(tmp_path: Path) -> AsyncIterator[Wrapped]:
    w = await start(tmp_path)
    yield w
    if w.proc.returncode is None:
        w.proc.kill()
        await w.proc.wait()


BAD_INPUT = [
    ("invalid-json", b'{"jsonrpc":"2.0","id":1,"method":', -32700, 1),
    ("not-json", b'hello', -32700, None),
    ("invalid-utf8", b'{"jsonrpc":"2.0","id":2,"method":"ping","params":{"s":"\xc3\x28"}}', -32700, 2),
    ("lone-surrogate", b'{"jsonrpc":"2.0","id":3,"method":"ping","params":{"s":"\\ud800"}}', -32700, 3),
    ("nan", b'{"jsonrpc":"2.0","id":4,"method":"ping","params":{"n":NaN}}', -32700, 4),
    ("infinity", b'{"jsonrpc":"2.0","id":5,"method":"ping","params":{"n":Infinity}}', -32700, 5),
    ("duplicate-keys", b'{"jsonrpc":"2.0","id":6,"method":"ping","method":"tools/call"}', -32700, 6),
    ("too-deep", b'{"jsonrpc":"2.0","id":7,"method":"ping","params":{"a":' + b"[" * 200 + b"]" * 200 + b"}}", -32700, 7),
    ("batch-without-batches", b'[{"jsonrpc":"2.0","id":8,"method":"ping"}]', -32600, 8),
    ("bool-id", b'{"jsonrpc":"2.0","id":true,"method":"ping"}', -32600, None),
    ("float-id", b'{"jsonrpc":"2.0","id":9.5,"method":"ping"}', -32600, None),
    ("object-id", b'{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}', -32600, None),
]


@pytest.mark.parametrize(("name", "raw", "code", "msg_id"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
async def test_bad_input_gets_an_error_is_not_forwarded_and_is_audited(
    wrapped: Wrapped, name: str, raw: bytes, code: int, msg_id: Any
) -> None:
    await wrapped.send(raw)
    reply = await wrapped.recv()
    if name.startswith("batch"):
        assert isinstance(reply, list) and len(reply) == 1  # a batch is answered with a batch
        reply = reply[0]
    assert reply["error"]["code"] == code, reply
    assert reply["id"] == msg_id
    # Still serving afterwards.
    assert (await wrapped.call("after", "ping"))["result"]["method"] == "ping"
    assert await wrapped.close() == 0
    received = wrapped.received()
    assert len(received) == 1 and b'"after"' in received[0], received
    rows = wrapped.audit_rows()
    invalid = [r for r in rows if r["action"] == "invalid"]
    assert len(invalid) == 1 and invalid[0]["direction"] == "c2s"


async def test_message_over_the_size_limit_is_refused_with_its_id(tmp_path: Path) -> None:
    w = await start(tmp_path, "--max-message-bytes", "4096")
    await w.send(b'{"jsonrpc":"2.0","id":"big","method":"ping","params":{"s":"' + b"x" * 100_000 + b'"}}')
    reply = await w.recv()
    assert reply["id"] == "big" and reply["error"]["code"] == -32002 and "4096" in reply["error"]["message"]
    assert (await w.call(1))["id"] == 1
    assert await w.close() == 0
    assert len(w.received()) == 1
    assert [r["action"] for r in w.audit_rows()].count("invalid") == 1


async def test_large_messages_within_the_limit_pass_whole(wrapped: Wrapped) -> None:
    big = "y" * (3 * 1024 * 1024)  # far over asyncio's 64 KiB line default
    reply = await wrapped.call(1, "tools/call", name="echo", arguments={"s": big})
    assert reply["result"]["echo"]["arguments"]["s"] == big
    await wrapped.close()


async def test_response_matching_no_request_is_dropped_and_audited(wrapped: Wrapped) -> None:
    await wrapped.send(b'{"jsonrpc":"2.0","id":999,"result":{}}')
    assert (await wrapped.call(1))["id"] == 1  # the next thing on stdout is the ping's answer
    await wrapped.close()
    assert all(b"999" not in line for line in wrapped.received())
    assert any(r["action"] == "invalid" and "999" in r["reason"] for r in wrapped.audit_rows())


async def test_bytes_are_forwarded_exactly(wrapped: Wrapped) -> None:
    raw = b'{"id" : 12345678901234567890123, "jsonrpc":"2.0","method":"tools/call",  "params":{"name":"\\u00e9x","z":[1.50,{}]}}'
    await wrapped.send(raw)
    reply = await wrapped.recv()
    assert reply["id"] == 12345678901234567890123
    await wrapped.close()
    assert wrapped.received() == [raw]


async def test_enforce_mode_blocks_a_denied_tool_before_the_server(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("mode: enforce\npolicy:\n  rules:\n    - name: no-shell\n      match: {method: tools/call, tool: 'run_*'}\n      action: deny\n")
    w = await start(tmp_path, "--config", str(cfg))
    reply = await w.call(1, "tools/call", name="run_shell", arguments={"cmd": "id"})
    assert reply["error"]["code"] == -32001 and "no-shell" in reply["error"]["message"]
    assert (await w.call(2, "tools/call", name="read"))["result"]["echo"]["name"] == "read"
    await w.close()
    assert all(b"run_shell" not in line for line in w.received())
    block = next(r for r in w.audit_rows() if r["action"] == "block")
    assert block["tool"] == "run_shell" and block["rule"] == "no-shell" and block["enforced"] == 1


async def test_when_the_child_dies_requests_in_flight_fail_at_once(tmp_path: Path) -> None:
    # The child exits (code 3) while a request is outstanding; a 'slow' request never answered.
    script = tmp_path / "dies.py"
    script.write_text(
        "import sys\n"
        "for line in sys.stdin:\n"
        "    if '\"die\"' in line: sys.exit(3)\n"
    )
    w = await start(tmp_path, command=[sys.executable, str(script)])
    await w.send(b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow"}}')
    await w.send(b'{"jsonrpc":"2.0","id":2,"method":"die"}')
    replies = [await w.recv(), await w.recv()]
    assert sorted(r["id"] for r in replies) == [1, 2]
    assert all(r["error"]["code"] == -32000 and "code 3" in r["error"]["message"] for r in replies)
    assert await asyncio.wait_for(w.proc.wait(), TIMEOUT) == 3


async def test_exit_code_of_the_child_is_ours(tmp_path: Path) -> None:
    w = await start(tmp_path)
    await w.send(b'{"jsonrpc":"2.0","id":1,"method":"exit","params":{"code":7}}')
    assert await asyncio.wait_for(w.proc.wait(), TIMEOUT) == 7


async def test_environment_is_passed_whole_plus_env_flags(tmp_path: Path) -> None:
    script = tmp_path / "env.py"
    script.write_text(
        "import json, os, sys\n"
        "for line in sys.stdin:\n"
        "    m = json.loads(line)\n"
        "    print(json.dumps({'jsonrpc': '2.0', 'id': m['id'], 'result': {k: os.environ.get(k) for k in ('FROM_PARENT', 'EXTRA')}}), flush=True)\n"
    )
    w = await start(tmp_path, "--env", "EXTRA=a=b", command=[sys.executable, str(script)], env={"FROM_PARENT": "yes"})
    assert (await w.call(1))["result"] == {"FROM_PARENT": "yes", "EXTRA": "a=b"}
    assert await w.close() == 0


async def test_command_is_accepted_without_the_double_dash(tmp_path: Path) -> None:
    w = await start(tmp_path, dashdash=False)
    assert (await w.call(1))["result"]["method"] == "ping"
    assert await w.close() == 0


async def test_stray_output_on_the_childs_stdout_is_logged_not_forwarded(tmp_path: Path) -> None:
    script = tmp_path / "chatty.py"
    script.write_text(
        "import json, sys\n"
        "print('server starting...', flush=True)\n"
        "for line in sys.stdin:\n"
        "    m = json.loads(line)\n"
        "    print('handling', m['id'], flush=True)\n"
        "    print(json.dumps({'jsonrpc': '2.0', 'id': m['id'], 'result': {}}), flush=True)\n"
    )
    w = await start(tmp_path, command=[sys.executable, str(script)])
    assert await w.call(1) == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert await w.close() == 0
    assert "server starting" in (tmp_path / "stderr.log").read_text()


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals and named pipes")
async def test_client_eof_stops_a_child_that_ignores_stdin_with_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    ready = tmp_path / "ready"
    os.mkfifo(ready)  # the child says it has its handler in place by writing to this pipe
    script.write_text(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
        f"open({str(ready)!r}, 'w').write('x')\n"
        "while True: signal.pause()\n"
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text("child: {stdin_close_grace: 0.2, term_grace: 5}\n")
    w = await start(tmp_path, "--config", str(cfg), command=[sys.executable, str(script)])
    fd = os.open(ready, os.O_RDONLY | os.O_NONBLOCK)  # opening for reading never blocks this way
    try:
        got = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_reader(fd, lambda: got.done() or got.set_result(os.read(fd, 1)))
        assert await asyncio.wait_for(got, TIMEOUT) == b"x"
    finally:
        asyncio.get_running_loop().remove_reader(fd)
        os.close(fd)
    assert await w.close() == 42


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
async def test_sigterm_is_forwarded_to_the_child(tmp_path: Path) -> None:
    script = tmp_path / "sig.py"
    script.write_text(
        "import json, signal, sys\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(5))\n"
        "for line in sys.stdin:\n"
        "    m = json.loads(line)\n"
        "    print(json.dumps({'jsonrpc': '2.0', 'id': m['id'], 'result': {}}), flush=True)\n"
    )
    w = await start(tmp_path, command=[sys.executable, str(script)])
    assert (await w.call(1))["id"] == 1  # the child is up and relaying
    w.proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(w.proc.wait(), TIMEOUT) == 5


async def test_unknown_command_is_a_clear_error(tmp_path: Path) -> None:
    w = await start(tmp_path, command=["definitely-not-a-command-xyz"])
    code = await asyncio.wait_for(w.proc.wait(), TIMEOUT)
    assert code == 2
    assert "not found on PATH" in (tmp_path / "stderr.log").read_text()

"""server-everything over HTTP, driven by the ``mcp`` SDK client directly and through ``mcpwall proxy``.

``@modelcontextprotocol/server-everything`` runs in ``streamableHttp`` mode (the SDK's
Streamable HTTP client, in ``legacy`` and ``auto`` modes; the server has no 2026-07-28
support, so a client pinned to it must fail the same way both ways) and in ``sse`` mode
(the SDK's legacy HTTP+SSE client against mcpwall's legacy front, whose ``endpoint`` event
names mcpwall, never the upstream), and through ``mcpwall wrap --upstream URL``: the SDK's stdio
client, with mcpwall playing the HTTP client's part towards the server. The script is the one of the stdio comparison
(tests/integration/test_wrap_peers.py): tools, sampling, elicitation, roots, progress,
logging, resources and subscriptions, prompts, completion, cancellation. Both routes talk
to the same server process, one after the other, so server-side state such as its
environment is the same.

A resumed GET stream: a TCP cutter between the client and its server (direct, or mcpwall)
drops every connection, then holds the client's GET reconnection while a tool call makes
the server emit a notification; released, the client resumes with ``Last-Event-ID`` and
must receive it, through mcpwall exactly as directly (one difference, on purpose: a replayed
``{}`` that is not JSON-RPC reaches the client directly but is not forwarded by mcpwall).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from gateway import free_port, monitor_config, proxy, running
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPDeprecationWarning
from test_wrap_peers import (
    EVERYTHING_ROOTS,
    WAIT,
    Peer,
    Transcript,
    call,
    dump,
    everything_script,
    normalised_notifications,
    notified,
    wait,
)

import peers

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(600),
    pytest.mark.filterwarnings(f"ignore::{MCPDeprecationWarning.__module__}.MCPDeprecationWarning"),
]


@dataclass
class Endpoints:
    direct: str
    proxied: str
    audit: Path
    workdir: Path

    def wrapped(self) -> tuple[StdioServerParameters, Path]:
        """``mcpwall wrap --upstream <direct URL>`` for a stdio client, with its own audit log."""
        audit = self.workdir / "wrap-audit.db"
        config = monitor_config(self.workdir, name="wrap.yaml", audit=audit.name)
        return StdioServerParameters(command=sys.executable, args=[
            "-m", "mcpwall", "wrap", "--config", str(config), "--upstream", self.direct],
            env={**os.environ, "MCPWALL_STATE_DIR": str(self.workdir / "state")}), audit


@contextlib.contextmanager
def everything_behind_mcpwall(mode: str, workdir: Path) -> Iterator[Endpoints]:
    up = free_port()
    path = "mcp" if mode == "streamableHttp" else "sse"
    config = monitor_config(workdir)
    with running(peers.everything_cmd(mode), up, env={**os.environ, "PORT": str(up)}, quiet=True), \
            proxy("--config", str(config), "--upstream", f"http://127.0.0.1:{up}/{path}",
                  # the resumption test reaches mcpwall through a relay on another port
                  "--allowed-host", "127.0.0.1",
                  env={**os.environ, "MCPWALL_STATE_DIR": str(workdir / "state")}) as front:
        yield Endpoints(f"http://127.0.0.1:{up}/{path}", front.url(f"/{path}"), workdir / "audit.db", workdir)


def transport_for(url: Any) -> Any:
    if isinstance(url, str) and url.endswith("/sse"):
        return sse_client(url)
    return url


async def run_script(url: Any, mode: str) -> Transcript:
    transcript = Transcript()
    peer = Peer(transcript, list(EVERYTHING_ROOTS))
    with anyio.fail_after(180):
        async with Client(
            transport_for(url), mode=mode, read_timeout_seconds=WAIT, sampling_callback=peer.sampling,
            elicitation_callback=peer.elicitation, list_roots_callback=peer.list_roots,
            logging_callback=peer.logging, message_handler=peer.message,
        ) as client:
            transcript.record("initialize", {
                "protocolVersion": client.protocol_version, "serverInfo": dump(client.server_info),
                "capabilities": dump(client.server_capabilities), "instructions": client.instructions,
            })
            await everything_script(client, peer, transcript)
    return transcript


# (server mode, SDK client mode, how the client reaches mcpwall): "proxy" is the same transport
# as the server's through ``mcpwall proxy``; "wrap" is the SDK's stdio client through
# ``mcpwall wrap --upstream URL`` (the bridge emulates the HTTP client's side).
CASES = [("streamableHttp", "legacy", "proxy"), ("streamableHttp", "auto", "proxy"), ("sse", "legacy", "proxy"),
         ("streamableHttp", "legacy", "wrap"), ("sse", "legacy", "wrap")]


@pytest.fixture(scope="module", params=CASES, ids=["-".join(c) for c in CASES])
def transcripts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[Transcript, Transcript, Path]:
    mode, client_mode, front = request.param
    with everything_behind_mcpwall(mode, tmp_path_factory.mktemp(f"everything-{mode}")) as ends:
        direct = anyio.run(run_script, ends.direct, client_mode)
        if front == "wrap":
            target, audit = ends.wrapped()
        else:
            target, audit = ends.proxied, ends.audit
        proxied = anyio.run(run_script, target, client_mode)
    return direct, proxied, audit


SESSION_ID = re.compile(r"session [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def without_session_ids(value: Any) -> Any:
    """server-everything names its own session id in some tool results; each run has its own."""
    return json.loads(SESSION_ID.sub("session <id>", json.dumps(value)))


def test_sdk_client_gets_identical_results_directly_and_through_mcpwall(
        transcripts: tuple[Transcript, Transcript, Path]) -> None:
    direct, proxied = (Transcript(without_session_ids(t.steps), t.server_requests, t.notifications, t.errors)
                       for t in transcripts[:2])
    assert list(proxied.steps) == list(direct.steps)
    different = [name for name in direct.steps if direct.steps[name] != proxied.steps[name]]
    assert not different, "\n".join(
        f"{name}:\n  direct:  {json.dumps(direct.steps[name])[:600]}\n  proxied: {json.dumps(proxied.steps[name])[:600]}"
        for name in different)
    assert proxied.server_requests == direct.server_requests
    assert without_session_ids(normalised_notifications(proxied)) == without_session_ids(
        normalised_notifications(direct))
    assert proxied.errors == direct.errors == []


def test_the_script_really_exercised_server_requests_progress_and_notifications(
        transcripts: tuple[Transcript, Transcript, Path]) -> None:
    _, proxied, _ = transcripts
    assert {"sampling/createMessage", "elicitation/create", "roots/list"} <= {m for m, _ in proxied.server_requests}
    assert proxied.steps["progress of trigger-long-running-operation"] == [[1, 3, None], [2, 3, None], [3, 3, None]]
    assert proxied.steps["cancelled call completed"] is False
    assert {"notifications/message", "notifications/resources/updated", "notifications/resources/list_changed"} <= {
        e["method"] for e in proxied.notifications}


def test_mcpwall_audited_the_proxied_session(transcripts: tuple[Transcript, Transcript, Path]) -> None:
    _, _, audit = transcripts
    import sqlite3

    with contextlib.closing(sqlite3.connect(audit)) as db:
        methods = {m for (m,) in db.execute("select distinct method from audit where method is not null")}
    assert {"initialize", "tools/call", "sampling/createMessage", "elicitation/create", "roots/list"} <= methods


def test_a_client_pinned_to_2026_07_28_fails_the_same_way_through_mcpwall(tmp_path: Path) -> None:
    async def attempt(url: str) -> str:
        try:
            with anyio.fail_after(60):
                async with Client(url, mode="2026-07-28", read_timeout_seconds=WAIT) as client:
                    return json.dumps(dump(await client.list_tools()))
        except Exception as e:  # the observable outcome, compared below
            return _leaf(e)

    with everything_behind_mcpwall("streamableHttp", tmp_path) as ends:
        direct = anyio.run(attempt, ends.direct)
        proxied = anyio.run(attempt, ends.proxied)
    assert proxied == direct
    assert "not initialized" in direct


def _leaf(e: BaseException) -> str:
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    return f"{type(e).__name__}: {e}"


# --- a resumed GET stream after a dropped connection --------------------------------------------


class Cutter:
    """A TCP relay that can drop every connection and hold back new GET requests."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.listen = 0
        self.writers: set[asyncio.StreamWriter] = set()
        self.release = asyncio.Event()
        self.release.set()
        self.held = asyncio.Event()
        self.get_open = asyncio.Event()  # a GET stream has been answered
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.listen = self.server.sockets[0].getsockname()[1]

    def cut_and_hold(self) -> None:
        self.release.clear()
        self.held.clear()
        for w in list(self.writers):
            w.transport.abort()
        self.writers.clear()

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers |= {writer, up_w}
        gets = [False]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, client_side: bool) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    if client_side and data.startswith(b"GET "):
                        gets[0] = True
                        if not self.release.is_set():
                            self.held.set()
                            await self.release.wait()
                    elif not client_side and gets[0]:
                        self.get_open.set()
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_w, True), pipe(up_r, writer, False), return_exceptions=True)
        self.writers -= {writer, up_w}

    async def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.close()
        for w in list(self.writers):
            w.transport.abort()


GZ = "data:text/plain;base64,aGVsbG8K"


async def resume_scenario(url: str) -> dict[str, Any]:
    port = int(url.split(":")[2].split("/")[0])
    cutter = Cutter(port)
    await cutter.start()
    transcript = Transcript()
    peer = Peer(transcript, [])
    seen: dict[str, Any] = {}
    try:
        with anyio.fail_after(120):
            async with Client(f"http://127.0.0.1:{cutter.listen}/mcp", mode="legacy", read_timeout_seconds=WAIT,
                              message_handler=peer.message) as client:
                # The server sends list_changed on the GET stream; no stream yet, and it is lost.
                with anyio.fail_after(WAIT):
                    await cutter.get_open.wait()
                first = peer.wait_for(notified("notifications/resources/list_changed"))
                seen["first call"] = await call(client, "gzip-file-as-resource", {"name": "one.gz", "data": GZ})
                await wait(first, "list_changed on the GET stream")
                # Drop every connection; the client's GET reconnection is held at the cutter.
                cutter.cut_and_hold()
                with anyio.fail_after(WAIT):
                    await cutter.held.wait()
                count = len(transcript.notifications)
                seen["second call"] = await call(client, "gzip-file-as-resource", {"name": "two.gz", "data": GZ})
                assert len(transcript.notifications) == count, "a notification arrived while the GET stream was down"
                second = peer.wait_for(lambda e: sum(
                    1 for n in transcript.notifications if n["method"] == "notifications/resources/list_changed") >= 2)
                cutter.release.set()  # the client resumes with Last-Event-ID
                await wait(second, "the list_changed emitted while the GET stream was down")
                seen["resources"] = sorted(r.uri for r in (await client.list_resources()).resources
                                           if "session" in r.uri)
    finally:
        await cutter.stop()
    seen["notifications"] = transcript.notifications
    seen["errors"] = transcript.errors
    return seen


def test_a_dropped_get_stream_resumes_with_last_event_id_through_mcpwall(tmp_path: Path) -> None:
    with everything_behind_mcpwall("streamableHttp", tmp_path) as ends:
        direct = anyio.run(resume_scenario, ends.direct)
        proxied = anyio.run(resume_scenario, ends.proxied)
    assert [n["method"] for n in direct["notifications"]].count("notifications/resources/list_changed") == 2
    # Replaying a stream, the server also sends its stored priming event as a message ``{}``:
    # the SDK client reports it as an error; mcpwall never forwards a message that is not
    # JSON-RPC, so through mcpwall that error is gone. Everything else is the same.
    assert all("input_value={}" in e for e in direct.pop("errors"))
    assert proxied.pop("errors") == []
    assert proxied == direct


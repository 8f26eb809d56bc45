"""The stateless 2026-07-28 era end to end: the ``mcp`` SDK client and the conformance test server.

The SDK client (``mode="2026-07-28"``, which adopts that version without a handshake, and
``mode="auto"``, which probes ``server/discover`` first) runs one script three ways:

- ``direct``: against tests/servers/conformance_server.py over Streamable HTTP;
- ``http``: through ``mcpwall proxy --upstream URL`` in front of that same server;
- ``stdio``: through ``mcpwall proxy -- python conformance_server.py --transport stdio``
  (the bridge starts a child per stateless request).

Every route must give the same results: tools, calls with content of each kind, a call with
progress, a call with logging (opted in through the request's ``_meta``), a tool error,
resources, templates, prompts, and JSON-RPC errors. That the era really was 2026-07-28 is
checked on both sides of mcpwall: its audit rows hold only requests stamped with that
version in ``_meta``, each in its own session, never an ``initialize``; and a recording
relay between mcpwall and the HTTP server sees only POSTs with no session id and with
``Mcp-Method``/``Mcp-Name`` headers matching their bodies.

Finally, requests whose headers disagree with their body, sent by hand, get HTTP 400 with
JSON-RPC -32020 from mcpwall, are audited as invalid, and never reach the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import mcp_types as types
import pytest
from gateway import free_port, monitor_config, proxy, running
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError

import peers

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings(f"ignore::{MCPDeprecationWarning.__module__}.MCPDeprecationWarning"),
]

ERA = "2026-07-28"
VERSION_META = "io.modelcontextprotocol/protocolVersion"
MODES = (ERA, "auto")
ROUTES = ("direct", "http", "stdio")
WAIT = 30.0


def dump(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True, exclude_none=True) if hasattr(value, "model_dump") else value


async def attempt(step: Any) -> Any:
    """The result of an awaitable, or the JSON-RPC error it raised (both are outcomes to compare)."""
    try:
        return dump(await step)
    except MCPError as e:
        return {"error": {"code": e.error.code, "message": e.error.message}}


async def script(url: str, mode: str) -> dict[str, Any]:
    steps: dict[str, Any] = {}
    logs: list[Any] = []
    reports: list[list[Any]] = []

    async def on_log(params: Any) -> None:
        logs.append(dump(params))

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append([progress, total, message])

    async def sampling(context: Any, params: Any) -> types.CreateMessageResult:
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="s"), model="m")

    async def elicitation(context: Any, params: Any) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"username": "u", "email": "u@example.com"})

    with anyio.fail_after(120):
        async with Client(url, mode=mode, read_timeout_seconds=WAIT, logging_callback=on_log, log_level="info",
                          sampling_callback=sampling, elicitation_callback=elicitation) as client:
            steps["protocol version"] = client.protocol_version
            steps["server info"] = dump(client.server_info)
            steps["tools"] = await attempt(client.list_tools())
            for tool, args in (("test_simple_text", {}), ("test_image_content", {}), ("test_audio_content", {}),
                               ("test_multiple_content_types", {}), ("test_error_handling", {}),
                               ("json_schema_2020_12_tool", {"name": "x", "address": {"city": "Łódź"}}),
                               ("test_reconnection", {}), ("no_such_tool", {}),
                               # Server requests: this server has no way to send them in this era.
                               ("test_sampling", {"prompt": "hi"}), ("test_elicitation", {"message": "hi"})):
                steps[f"call {tool}"] = await attempt(client.call_tool(tool, args))
            steps["call with progress"] = await attempt(
                client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress))
            steps["progress"] = reports
            steps["call with logging"] = await attempt(client.call_tool("test_tool_with_logging", {}))
            steps["logs"] = logs
            steps["resources"] = await attempt(client.list_resources())
            steps["templates"] = await attempt(client.list_resource_templates())
            steps["read static text"] = await attempt(client.read_resource("test://static-text"))
            steps["read template"] = await attempt(client.read_resource("test://template/42/data"))
            steps["read unknown"] = await attempt(client.read_resource("test://nowhere"))
            steps["prompts"] = await attempt(client.list_prompts())
            steps["prompt with arguments"] = await attempt(
                client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"}))
            steps["unknown prompt"] = await attempt(client.get_prompt("no_such_prompt"))
    return steps


# --- what reaches the HTTP server -----------------------------------------------------------------


@dataclass
class Request:
    method: str
    headers: dict[str, str]
    body: bytes


class Recorder:
    """A TCP relay in front of a server that keeps every byte sent to it, to read requests back."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.streams: list[bytearray] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                up = socket.create_connection(("127.0.0.1", self.upstream))
                sent = bytearray()
                with self.lock:
                    self.streams.append(sent)
                threading.Thread(target=self._pipe, args=(conn, up, sent), daemon=True).start()
                threading.Thread(target=self._pipe, args=(up, conn, None), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, keep: bytearray | None) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if keep is not None:
                    keep += data  # before forwarding: the answer cannot come before the record
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def requests(self) -> list[Request]:
        out = []
        with self.lock:
            streams = [bytes(s) for s in self.streams]
        for data in streams:
            while data:
                head, sep, data = data.partition(b"\r\n\r\n")
                assert sep, f"incomplete request head: {head[:200]!r}"
                line, *fields = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
                assert "chunked" not in headers.get("transfer-encoding", ""), "the recorder reads sized bodies only"
                size = int(headers.get("content-length", "0"))
                out.append(Request(line.split(" ", 1)[0], headers, data[:size]))
                data = data[size:]
        return out

    def close(self) -> None:
        self.listener.close()


# --- the runs -------------------------------------------------------------------------------------


@dataclass
class Observed:
    transcripts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    mismatches: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    upstream_requests: list[Request] = field(default_factory=list)
    upstream_requests_before_mismatches: int = 0
    audit: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def meta(**extra: Any) -> dict[str, Any]:
    return {VERSION_META: ERA, "io.modelcontextprotocol/clientInfo": {"name": "by-hand", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}, **extra}


CALL = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "test_simple_text", "arguments": {}, "_meta": meta()}}
GOOD = {"mcp-protocol-version": ERA, "mcp-method": "tools/call", "mcp-name": "test_simple_text"}
# Header sets that disagree with CALL's body; each must be refused with -32020.
MISMATCHES: dict[str, dict[str, str]] = {
    "method": {**GOOD, "mcp-method": "tools/list"},
    "name": {**GOOD, "mcp-name": "test_error_handling"},
    "missing name": {"mcp-protocol-version": ERA, "mcp-method": "tools/call"},
    "version": {**GOOD, "mcp-protocol-version": "2025-11-25"},
}


async def by_hand(url: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.post(url, data=json.dumps(CALL), headers={
            "content-type": "application/json", "accept": "application/json, text/event-stream", **headers}) as r:
        body = await r.read()
        return r.status, json.loads(body) if r.content_type == "application/json" else body.decode()


def audit_rows(path: Path) -> list[dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("select * from audit order by seq")]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Observed:
    work = tmp_path_factory.mktemp("stateless")
    seen = Observed()
    up = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MCPWALL_")},
           "MCPWALL_STATE_DIR": str(work / "state")}
    http_config, stdio_config = monitor_config(work / "http"), monitor_config(work / "stdio")
    with running(peers.conformance_server_cmd("--transport", "http", "--port", str(up)), up) as _:
        recorder = Recorder(up)
        try:
            with proxy("--config", str(http_config), "--upstream", f"http://127.0.0.1:{recorder.port}/mcp",
                       env=env) as http_front, \
                    proxy("--config", str(stdio_config), "--", *peers.conformance_server_cmd("--transport", "stdio"),
                          env=env) as stdio_front:
                urls = {"direct": f"http://127.0.0.1:{up}/mcp", "http": http_front.url(), "stdio": stdio_front.url()}
                for mode in MODES:
                    for route in ROUTES:
                        seen.transcripts[mode, route] = anyio.run(script, urls[route], mode)
                seen.upstream_requests_before_mismatches = len(recorder.requests())
                for route in ("http", "stdio"):
                    seen.mismatches[route, "agreeing"] = anyio.run(by_hand, urls[route], GOOD)
                    for name, headers in MISMATCHES.items():
                        seen.mismatches[route, name] = anyio.run(by_hand, urls[route], headers)
            seen.upstream_requests = recorder.requests()
        finally:
            recorder.close()
    # The proxies have stopped: their audit logs are complete.
    seen.audit = {"http": audit_rows(work / "http" / "audit.db"), "stdio": audit_rows(work / "stdio" / "audit.db")}
    return seen


# --- what must hold -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("route", ["http", "stdio"])
def test_the_sdk_client_sees_the_same_results_through_mcpwall_as_directly(observed: Observed, mode: str,
                                                                          route: str) -> None:
    direct, through = observed.transcripts[mode, "direct"], observed.transcripts[mode, route]
    assert list(through) == list(direct)
    different = [k for k in direct if direct[k] != through[k]]
    assert not different, "\n".join(
        f"{k}:\n  direct:  {json.dumps(direct[k])[:600]}\n  {route}: {json.dumps(through[k])[:600]}"
        for k in different)


@pytest.mark.parametrize("mode", MODES)
def test_the_script_ran_in_the_2026_era_and_exercised_progress_logging_and_errors(observed: Observed,
                                                                                  mode: str) -> None:
    t = observed.transcripts[mode, "direct"]
    assert t["protocol version"] == ERA
    assert len(t["tools"]["tools"]) == 14
    assert t["call test_simple_text"]["content"] == [
        {"type": "text", "text": "This is a simple text response for testing."}]
    assert [c["type"] for c in t["call test_multiple_content_types"]["content"]] == ["text", "image", "resource"]
    assert t["call test_error_handling"]["isError"] is True
    assert t["progress"] == [[0.0, 100.0, "step 1 of 3"], [50.0, 100.0, "step 2 of 3"],
                             [100.0, 100.0, "step 3 of 3"]]
    assert [entry["data"] for entry in t["logs"]] == [
        "Tool execution started", "Tool processing data", "Tool execution completed"]
    assert t["read template"]["contents"][0]["text"] == '{"id":"42","templateTest":true,"data":"Data for ID: 42"}'
    assert "error" in t["read unknown"] and "error" in t["unknown prompt"]
    assert "no back-channel" in t["call test_sampling"]["error"]["message"]
    assert t["prompt with arguments"]["messages"][0]["content"]["text"] == \
        "Prompt with arguments: arg1='a', arg2='b'"


@pytest.mark.parametrize("route", ["http", "stdio"])
def test_mcpwall_audited_only_2026_requests_each_in_its_own_session(observed: Observed, route: str) -> None:
    rows = observed.audit[route]
    requests = [r for r in rows if r["direction"] == "c2s" and r["kind"] == "request"]
    assert requests
    versions = {json.loads(r["frame"])["params"]["_meta"][VERSION_META] for r in requests}
    assert versions == {ERA}
    methods = {r["method"] for r in requests}
    assert "initialize" not in methods
    # auto mode probes first; the probe itself is 2026-era and answered, not refused.
    assert {"server/discover", "tools/list", "tools/call", "resources/list", "resources/read",
            "resources/templates/list", "prompts/list", "prompts/get"} <= methods
    assert {r["method"] for r in rows if r["direction"] == "s2c" and r["kind"] == "notification"} == {
        "notifications/progress", "notifications/message"}
    # No sessions in this era: every request is a session of its own.
    assert len({r["session"] for r in requests}) == len(requests)


def test_the_http_server_behind_mcpwall_got_only_stateless_posts_with_matching_headers(observed: Observed) -> None:
    requests = observed.upstream_requests
    assert requests
    assert {r.method for r in requests} == {"POST"}
    for r in requests:
        body = json.loads(r.body)
        assert "mcp-session-id" not in r.headers
        assert r.headers["mcp-protocol-version"] == ERA == body["params"]["_meta"][VERSION_META]
        assert r.headers["mcp-method"] == body["method"]
        if body["method"] == "tools/call" or body["method"] == "prompts/get":
            assert r.headers["mcp-name"] == body["params"]["name"]
        elif body["method"] == "resources/read":
            assert r.headers["mcp-name"] == body["params"]["uri"]
    # Two modes times one script, all of it through the HTTP route.
    audited = [r for r in observed.audit["http"] if r["direction"] == "c2s" and r["kind"] == "request"
               and r["action"] != "invalid"]
    assert len(requests) == len(audited)


@pytest.mark.parametrize("route", ["http", "stdio"])
@pytest.mark.parametrize("mismatch", list(MISMATCHES))
def test_a_header_body_mismatch_gets_400_and_json_rpc_32020(observed: Observed, route: str, mismatch: str) -> None:
    status, body = observed.mismatches[route, mismatch]
    assert status == 400, body
    assert body["id"] == 7 and body["error"]["code"] == -32020, body


@pytest.mark.parametrize("route", ["http", "stdio"])
def test_refused_mismatches_are_audited_and_never_reach_the_server(observed: Observed, route: str) -> None:
    status, body = observed.mismatches[route, "agreeing"]
    assert status == 200 and "This is a simple text response" in json.dumps(body)
    invalid = [r for r in observed.audit[route] if r["action"] == "invalid"]
    assert len(invalid) == len(MISMATCHES)
    assert all(r["method"] == "tools/call" and r["direction"] == "c2s" for r in invalid)
    if route == "http":
        # Only the agreeing request went on to the server.
        assert len(observed.upstream_requests) == observed.upstream_requests_before_mismatches + 1


def test_a_stateless_answer_over_the_bridge_invites_no_resumption(observed: Observed) -> None:
    # The per-request session is gone once answered: an event id or a retry field would
    # invite a GET with Last-Event-ID that nothing could serve.
    status, body = observed.mismatches["stdio", "agreeing"]
    assert status == 200
    if isinstance(body, str):  # answered as an SSE stream
        fields = [line.split(":", 1)[0] for line in body.splitlines() if line]
        assert "retry" not in fields and "id" not in fields, body
        assert "This is a simple text response" in body

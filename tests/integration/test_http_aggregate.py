"""Several upstreams behind one ``mcpwall proxy``: each at /servers/<name>/mcp, and merged at /mcp.

Upstreams: server-everything over Streamable HTTP, and server-filesystem twice over stdio
(``left`` and ``right``, each with its own directory, so the same tool names collide).
The ``mcp`` SDK client drives the merged endpoint and the named ones; the merged view must
be the named views with names and resource URIs namespaced, calls routed to the right
upstream (including a routing rule that keeps ``read_text_file`` of ``left`` bare), server
requests (sampling), progress tokens, subscriptions and cancellations mapped per upstream.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from gateway import free_port, monitor_config, proxy, running
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from test_wrap_peers import WAIT, Peer, Transcript, call, dump, notified, wait

import peers

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings(f"ignore::{MCPDeprecationWarning.__module__}.MCPDeprecationWarning"),
]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    work = tmp_path_factory.mktemp("aggregate")
    left, right = work / "left", work / "right"
    for d, text in ((left, "left side\n"), (right, "right side\n")):
        d.mkdir()
        (d / "note.txt").write_text(text, encoding="utf-8")
    up = free_port()
    config = monitor_config(
        work,
        upstreams={
            "everything": {"url": f"http://127.0.0.1:{up}/mcp"},
            "left": {"command": peers.filesystem_cmd(left)},
            "right": {"command": peers.filesystem_cmd(right)},
        },
        http={"aggregate": {"routes": {"read_text_file": "left"}}},
    )
    with running(peers.everything_cmd("streamableHttp"), up, env={**os.environ, "PORT": str(up)}, quiet=True), \
            proxy("--config", str(config), env={**os.environ, "MCPWALL_STATE_DIR": str(work / "state")}) as front:
        yield front.base, left, right


async def tool_names(url: str) -> list[str]:
    async with Client(url, mode="legacy", read_timeout_seconds=WAIT) as client:
        return [t.name for t in (await client.list_tools()).tools]


def test_the_merged_tool_list_is_every_upstreams_list_namespaced(gateway: tuple[str, Path, Path]) -> None:
    base, _, _ = gateway

    async def go() -> tuple[list[str], dict[str, list[str]]]:
        merged = await tool_names(f"{base}/mcp")
        named = {n: await tool_names(f"{base}/servers/{n}/mcp") for n in ("everything", "left", "right")}
        return merged, named

    merged, named = anyio.run(go)
    expected = [f"everything__{t}" for t in named["everything"]]
    expected += [t if t == "read_text_file" else f"left__{t}" for t in named["left"]]
    expected += [f"right__{t}" for t in named["right"]]
    assert merged == expected
    assert "read_text_file" in merged and "right__read_text_file" in merged and "left__read_text_file" not in merged


async def aggregate_script(url: str, left: Path, right: Path) -> tuple[Transcript, dict[str, Any]]:
    t = Transcript()
    # server-filesystem replaces its directories by the client's roots; every upstream gets them.
    peer = Peer(t, [types.Root(uri=left.as_uri(), name="left"), types.Root(uri=right.as_uri(), name="right")])
    facts: dict[str, Any] = {}
    with anyio.fail_after(120):
        async with Client(url, mode="legacy", read_timeout_seconds=WAIT, sampling_callback=peer.sampling,
                          elicitation_callback=peer.elicitation, list_roots_callback=peer.list_roots,
                          logging_callback=peer.logging, message_handler=peer.message) as client:
            facts["serverInfo"] = dump(client.server_info)
            facts["capabilities"] = dump(client.server_capabilities)
            t.record("echo", await call(client, "everything__echo", {"message": "merged"}))
            t.record("left read (routing rule)", await call(client, "read_text_file", {"path": str(left / "note.txt")}))
            t.record("right read", await call(client, "right__read_text_file", {"path": str(right / "note.txt")}))
            t.record("outside the roots", await call(client, "right__read_text_file", {"path": "/etc/hostname"}))
            t.record("unknown tool", await call(client, "nobody__echo", {}))
            t.record("sampling", await call(client, "everything__trigger-sampling-request",
                                            {"prompt": "hi", "maxTokens": 5}))
            reports: list[list[Any]] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                reports.append([progress, total, message])

            t.record("long", await call(client, "everything__trigger-long-running-operation",
                                        {"duration": 0.3, "steps": 3}, progress_callback=on_progress))
            t.record("progress", reports)
            resources = await client.list_resources()
            facts["resource uris"] = [r.uri for r in resources.resources]
            uri = "everything+demo://resource/static/document/architecture.md"
            read = await client.read_resource(uri)
            facts["read uri"] = [c.uri for c in read.contents]
            sub = "everything+demo://resource/dynamic/text/1"
            await client.subscribe_resource(sub)
            updated = peer.wait_for(notified("notifications/resources/updated", uri=sub))
            await call(client, "everything__toggle-subscriber-updates")
            await wait(updated, "namespaced resources/updated")
            await call(client, "everything__toggle-subscriber-updates")
            facts["prompts"] = [p.name for p in (await client.list_prompts()).prompts]
            t.record("prompt", await client.get_prompt("everything__simple-prompt"))
            t.record("completion", await client.complete(
                types.PromptReference(type="ref/prompt", name="everything__completable-prompt"),
                {"name": "department", "value": "E"}))
            try:
                await client.read_resource("nowhere+demo://x")
                facts["unknown resource"] = "read"
            except MCPError as e:
                facts["unknown resource"] = e.error.message
            # Cancel a long call on one upstream; the merged session stays usable.
            started = anyio.Event()

            async def first(progress: float, total: float | None, message: str | None) -> None:
                started.set()

            async with anyio.create_task_group() as group:
                scope = anyio.CancelScope()

                async def long_call() -> None:
                    with scope:
                        await client.call_tool("everything__trigger-long-running-operation",
                                               {"duration": 20, "steps": 100}, progress_callback=first)

                group.start_soon(long_call)
                await wait(started, "first progress of the call to cancel")
                scope.cancel()
            t.record("ping after cancel", await client.send_ping())
    return t, facts


@pytest.fixture(scope="module")
def merged_run(gateway: tuple[str, Path, Path]) -> tuple[Transcript, dict[str, Any]]:
    base, left, right = gateway
    return anyio.run(aggregate_script, f"{base}/mcp", left, right)


def test_calls_are_routed_to_the_upstream_their_name_says(merged_run: tuple[Transcript, dict[str, Any]]) -> None:
    t, _ = merged_run
    assert t.steps["echo"]["content"][0]["text"] == "Echo: merged"
    assert t.steps["left read (routing rule)"]["content"][0]["text"] == "left side\n"
    assert t.steps["right read"]["content"][0]["text"] == "right side\n"
    assert t.steps["outside the roots"]["isError"] is True
    assert "unknown tool" in json.dumps(t.steps["unknown tool"])


def test_server_requests_and_progress_cross_the_aggregate(merged_run: tuple[Transcript, dict[str, Any]]) -> None:
    t, _ = merged_run
    assert {"sampling/createMessage", "roots/list"} <= {m for m, _ in t.server_requests}
    assert "A sampled answer" in json.dumps(t.steps["sampling"])
    assert t.steps["progress"] == [[1, 3, None], [2, 3, None], [3, 3, None]]
    assert "ping after cancel" in t.steps
    assert t.errors == []


def test_capabilities_resources_and_prompts_are_merged_and_namespaced(
        merged_run: tuple[Transcript, dict[str, Any]]) -> None:
    t, facts = merged_run
    caps = facts["capabilities"]
    assert {"tools", "prompts", "resources", "logging"} <= set(caps)
    assert caps["resources"].get("subscribe") is True
    assert facts["serverInfo"]["name"] == "mcpwall-aggregate"
    assert facts["resource uris"] and all(u.startswith("everything+demo://") for u in facts["resource uris"])
    assert facts["read uri"] == ["everything+demo://resource/static/document/architecture.md"]
    assert "everything__simple-prompt" in facts["prompts"]
    assert t.steps["prompt"]["messages"]
    assert t.steps["completion"]["completion"]["values"]
    assert "unknown resource" in facts["unknown resource"]
    assert any(n["params"].get("uri") == "everything+demo://resource/dynamic/text/1"
               for n in t.notifications if n["method"] == "notifications/resources/updated")

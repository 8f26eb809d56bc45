"""The conformance test server answers what the conformance scenarios ask, over stdio and HTTP.

The suite itself only speaks HTTP; these tests drive the same server over stdio
(the transport an mcpwall bridge uses to reach it) with the official SDK client.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPDeprecationWarning

import peers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from run import free_port, wait_for_port

pytestmark = pytest.mark.filterwarnings(f"ignore::{MCPDeprecationWarning.__module__}.MCPDeprecationWarning")


async def sampling(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    prompt = params.messages[0].content
    text = getattr(prompt, "text", "")
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=f"echo {text}"),
        model="test",
        stop_reason="endTurn",
    )


async def elicitation(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"username": "ada", "email": "ada@example.com"})


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        peers.conformance_server_cmd("--transport", "http", "--port", str(port)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


Server = StdioServerParameters | str
Logs = list[types.LoggingMessageNotificationParams]


@pytest.fixture(params=["stdio", "http"])
def server(request: pytest.FixtureRequest) -> Server:
    if request.param == "stdio":
        argv = peers.conformance_server_cmd("--transport", "stdio")
        return StdioServerParameters(command=argv[0], args=argv[1:])
    url: str = request.getfixturevalue("http_url")
    return url


@asynccontextmanager
async def connect(server: Server) -> AsyncIterator[tuple[Client, Logs]]:
    # A context manager, not an async fixture: the SDK's task groups must be entered
    # and left in the same task, which pytest-asyncio fixtures do not guarantee.
    logs: Logs = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params)

    async with Client(
        server,
        mode="legacy",
        logging_callback=on_log,
        sampling_callback=sampling,
        elicitation_callback=elicitation,
    ) as connected:
        yield connected, logs


CONTENT_TYPES = [
    ("test_simple_text", {}, ["text"]),
    ("test_image_content", {}, ["image"]),
    ("test_audio_content", {}, ["audio"]),
    ("test_embedded_resource", {}, ["resource"]),
    ("test_multiple_content_types", {}, ["text", "image", "resource"]),
]


@pytest.mark.parametrize(("tool", "arguments", "types_"), CONTENT_TYPES)
async def test_tool_returns_the_content_types_its_scenario_expects(
    server: Server, tool: str, arguments: dict[str, Any], types_: list[str]
) -> None:
    async with connect(server) as (client, _):
        result = await client.call_tool(tool, arguments)
    assert [block.type for block in result.content] == types_
    assert not result.is_error


async def test_error_tool_reports_is_error(server: Server) -> None:
    async with connect(server) as (client, _):
        result = await client.call_tool("test_error_handling", {})
    assert result.is_error is True


async def test_sampling_and_elicitation_round_trip_through_the_client(server: Server) -> None:
    async with connect(server) as (client, _):
        sampled = await client.call_tool("test_sampling", {"prompt": "hello"})
        elicited = await client.call_tool("test_elicitation", {"message": "who?"})
    assert getattr(sampled.content[0], "text", "") == "LLM response: echo hello"
    assert "ada@example.com" in getattr(elicited.content[0], "text", "")


async def test_log_level_filters_tool_logs(server: Server) -> None:
    async with connect(server) as (client, logs):
        await client.set_logging_level("warning")
        await client.call_tool("test_tool_with_logging", {})
        assert logs == []
        await client.set_logging_level("info")
        await client.call_tool("test_tool_with_logging", {})
    assert [entry.data for entry in logs] == [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ]


async def test_progress_is_reported_in_three_increasing_steps(server: Server) -> None:
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with connect(server) as (client, _):
        await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
    assert seen == [(0.0, 100.0), (50.0, 100.0), (100.0, 100.0)]


async def test_resources_and_template_substitution(server: Server) -> None:
    async with connect(server) as (client, _):
        listed = await client.list_resources()
        text = await client.read_resource("test://static-text")
        templated = await client.read_resource("test://template/123/data")
    assert {"test://static-text", "test://static-binary", "test://watched-resource"} <= {
        str(r.uri) for r in listed.resources
    }
    assert getattr(text.contents[0], "text", "") == "This is the content of the static text resource."
    assert '"id":"123"' in getattr(templated.contents[0], "text", "")


async def test_prompt_arguments_are_substituted(server: Server) -> None:
    async with connect(server) as (client, _):
        result = await client.get_prompt("test_prompt_with_arguments", {"arg1": "hello", "arg2": "world"})
    text = getattr(result.messages[0].content, "text", "")
    assert text == "Prompt with arguments: arg1='hello', arg2='world'"


async def test_json_schema_2020_12_keywords_survive_listing(server: Server) -> None:
    async with connect(server) as (client, _):
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    schema = tools["json_schema_2020_12_tool"].input_schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "address" in schema["$defs"]
    assert schema["additionalProperties"] is False

"""An MCP server with the tools, resources and prompts the conformance suite's server scenarios call.

``@modelcontextprotocol/conformance`` (0.1.16) tests a *server* by connecting to it
as a client and calling fixed names: ``test_simple_text``, ``test://static-text``,
``test_prompt_with_arguments`` and so on.  This module implements those names with
the official ``mcp`` Python SDK (v2, low-level ``Server``) so the suite has an
upstream to run against -- directly, and later through mcpwall.

    python tests/servers/conformance_server.py --transport stdio
    python tests/servers/conformance_server.py --transport http --port 8931   # http://127.0.0.1:8931/mcp

Over HTTP it serves stateful Streamable HTTP on loopback only, with an in-memory
event store (so SSE streams carry event ids and can be resumed with
``Last-Event-ID``) and the SDK's Host/Origin checks on.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import struct
import sys
import warnings
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.shared.message import ServerMessageMetadata

SERVER_NAME = "mcpwall-conformance-server"
SERVER_VERSION = "1.0.0"

# Logging, sampling and roots are deprecated in the SDK's newest protocol era but are
# exactly what the 2025-era scenarios exercise; the warnings would only be noise.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

Ctx = ServerRequestContext[Any, Any]


def _png_1x1_red() -> str:
    """A valid 1x1 red PNG, built here rather than pasted as an opaque blob."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode("ascii")


def _wav_silence() -> str:
    """A valid 10 ms mono 8 kHz 8-bit WAV of silence."""
    samples = b"\x80" * 80
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(samples))
        + samples
    )
    return base64.b64encode(b"RIFF" + struct.pack("<I", len(body)) + body).decode("ascii")


PNG = _png_1x1_red()
WAV = _wav_silence()

LOG_LEVELS: tuple[types.LoggingLevel, ...] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)

JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"

NO_ARGS: dict[str, Any] = {"type": "object", "properties": {}}


def _tool(name: str, description: str, schema: dict[str, Any] | None = None) -> types.Tool:
    return types.Tool(name=name, description=description, input_schema=schema or NO_ARGS)


TOOLS: list[types.Tool] = [
    _tool("test_simple_text", "Returns a fixed text block"),
    _tool("test_image_content", "Returns a 1x1 PNG image block"),
    _tool("test_audio_content", "Returns a short WAV audio block"),
    _tool("test_embedded_resource", "Returns an embedded text resource"),
    _tool("test_multiple_content_types", "Returns text, image and an embedded JSON resource"),
    _tool("test_tool_with_logging", "Sends three info log notifications while it runs"),
    _tool("test_tool_with_progress", "Reports progress 0, 50 and 100 of 100 when given a progress token"),
    _tool("test_error_handling", "Always fails with isError: true"),
    _tool(
        "test_sampling",
        "Asks the client's LLM (sampling/createMessage) and returns its answer",
        {
            "type": "object",
            "properties": {"prompt": {"type": "string", "description": "The prompt to send to the LLM"}},
            "required": ["prompt"],
        },
    ),
    _tool(
        "test_elicitation",
        "Asks the user for a username and an email (elicitation/create)",
        {
            "type": "object",
            "properties": {"message": {"type": "string", "description": "The message to show the user"}},
            "required": ["message"],
        },
    ),
    _tool(
        "test_elicitation_sep1034_defaults", "Elicitation whose schema has a default for every primitive type"
    ),
    _tool("test_elicitation_sep1330_enums", "Elicitation whose schema uses every enum variant of SEP-1330"),
    _tool(
        "json_schema_2020_12_tool",
        "Tool with JSON Schema 2020-12 features",
        {
            "$schema": JSON_SCHEMA_2020_12,
            "type": "object",
            "$defs": {
                "address": {
                    "type": "object",
                    "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
                }
            },
            "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
            "additionalProperties": False,
        },
    ),
    _tool("test_reconnection", "Closes its SSE stream before answering, so the client must resume"),
]

STATIC_TEXT = "This is the content of the static text resource."
WATCHED_URI = "test://watched-resource"

RESOURCES: list[types.Resource] = [
    types.Resource(
        uri="test://static-text",
        name="static-text",
        description="A static text resource",
        mime_type="text/plain",
    ),
    types.Resource(
        uri="test://static-binary",
        name="static-binary",
        description="A static binary resource (a 1x1 PNG)",
        mime_type="image/png",
    ),
    types.Resource(
        uri=WATCHED_URI,
        name="watched-resource",
        description="A resource clients can subscribe to",
        mime_type="text/plain",
    ),
]

TEMPLATE_PREFIX = "test://template/"
TEMPLATE_SUFFIX = "/data"

TEMPLATES: list[types.ResourceTemplate] = [
    types.ResourceTemplate(
        uri_template="test://template/{id}/data",
        name="template-data",
        description="A JSON document generated for any id",
        mime_type="application/json",
    )
]


def _argument(name: str, description: str) -> types.PromptArgument:
    return types.PromptArgument(name=name, description=description, required=True)


PROMPTS: list[types.Prompt] = [
    types.Prompt(name="test_simple_prompt", description="A prompt without arguments"),
    types.Prompt(
        name="test_prompt_with_arguments",
        description="A prompt with two required arguments",
        arguments=[_argument("arg1", "First test argument"), _argument("arg2", "Second test argument")],
    ),
    types.Prompt(
        name="test_prompt_with_embedded_resource",
        description="A prompt that embeds a resource",
        arguments=[_argument("resourceUri", "URI of the resource to embed")],
    ),
    types.Prompt(name="test_prompt_with_image", description="A prompt with an image"),
]

# Completion candidates per (prompt, argument); the suite only needs the shape right.
COMPLETIONS: dict[tuple[str, str], list[str]] = {
    ("test_prompt_with_arguments", "arg1"): ["paris", "park", "party", "test", "testing"],
    ("test_prompt_with_arguments", "arg2"): ["world", "word", "work"],
}


@dataclass
class ConnectionState:
    """What the server remembers about one client connection."""

    log_level: types.LoggingLevel = "debug"
    subscriptions: set[str] = field(default_factory=set)


class State:
    """Per-connection state keyed by the HTTP session id (one key for stdio)."""

    def __init__(self) -> None:
        self._connections: dict[str, ConnectionState] = {}

    def of(self, ctx: Ctx) -> ConnectionState:
        key = "stdio"
        request = ctx.request
        headers = getattr(request, "headers", None)
        if headers is not None:
            key = headers.get("mcp-session-id") or "http"
        return self._connections.setdefault(key, ConnectionState())


STATE = State()


def _text(text: str) -> types.TextContent:
    return types.TextContent(type="text", text=text)


async def _log(ctx: Ctx, level: types.LoggingLevel, message: str) -> None:
    if LOG_LEVELS.index(level) < LOG_LEVELS.index(STATE.of(ctx).log_level):
        return
    # Request-scoped, so over HTTP the notification rides the tool call's own SSE stream.
    await ctx.session.send_log_message(level, message, logger=SERVER_NAME, related_request_id=ctx.request_id)


def _related(ctx: Ctx) -> ServerMessageMetadata:
    return ServerMessageMetadata(related_request_id=ctx.request_id)


async def _elicit(ctx: Ctx, message: str, schema: dict[str, Any]) -> types.ElicitResult:
    request = types.ElicitRequest(
        params=types.ElicitRequestFormParams(message=message, requested_schema=schema)
    )
    return await ctx.session.send_request(request, types.ElicitResult, metadata=_related(ctx))


def _describe_elicitation(result: types.ElicitResult) -> str:
    return f"action={result.action}, content={json.dumps(result.content, sort_keys=True)}"


async def tool_simple_text(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[_text("This is a simple text response for testing.")])


async def tool_image(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[types.ImageContent(type="image", data=PNG, mime_type="image/png")])


async def tool_audio(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[types.AudioContent(type="audio", data=WAV, mime_type="audio/wav")])


async def tool_embedded_resource(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    resource = types.TextResourceContents(
        uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
    )
    return types.CallToolResult(content=[types.EmbeddedResource(type="resource", resource=resource)])


async def tool_mixed(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    resource = types.TextResourceContents(
        uri="test://mixed-content-resource",
        mime_type="application/json",
        text=json.dumps({"test": "data", "value": 123}, separators=(",", ":")),
    )
    return types.CallToolResult(
        content=[
            _text("Multiple content types test:"),
            types.ImageContent(type="image", data=PNG, mime_type="image/png"),
            types.EmbeddedResource(type="resource", resource=resource),
        ]
    )


async def tool_logging(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    await _log(ctx, "info", "Tool execution started")
    await anyio.sleep(0.05)
    await _log(ctx, "info", "Tool processing data")
    await anyio.sleep(0.05)
    await _log(ctx, "info", "Tool execution completed")
    return types.CallToolResult(content=[_text("Tool with logging executed successfully")])


async def tool_progress(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    # report_progress is a no-op when the caller sent no progress token.
    for step, progress in enumerate((0.0, 50.0, 100.0)):
        if step:
            await anyio.sleep(0.05)
        await ctx.session.report_progress(progress, 100.0, f"step {step + 1} of 3")
    return types.CallToolResult(content=[_text("Tool with progress executed successfully")])


async def tool_error(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(
        is_error=True, content=[_text("This tool intentionally returns an error for testing")]
    )


def _missing_capability(what: str) -> types.CallToolResult:
    return types.CallToolResult(is_error=True, content=[_text(f"The client does not support {what}")])


async def tool_sampling(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    capabilities = ctx.session.client_capabilities
    if capabilities is None or capabilities.sampling is None:
        return _missing_capability("sampling")
    prompt = str(args.get("prompt", ""))
    result = await ctx.session.create_message(
        [types.SamplingMessage(role="user", content=_text(prompt))],
        max_tokens=100,
        related_request_id=ctx.request_id,
    )
    content = result.content
    blocks = content if isinstance(content, list) else [content]
    answer = " ".join(getattr(block, "text", "") for block in blocks)
    return types.CallToolResult(content=[_text(f"LLM response: {answer}")])


async def tool_elicitation(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    capabilities = ctx.session.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        return _missing_capability("elicitation")
    schema = {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    }
    result = await _elicit(ctx, str(args.get("message", "")), schema)
    return types.CallToolResult(content=[_text(f"User response: {_describe_elicitation(result)}")])


async def tool_elicitation_defaults(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active",
            },
            "verified": {"type": "boolean", "description": "Verification status", "default": True},
        },
        "required": [],
    }
    result = await _elicit(ctx, "Please review these values; every field has a default", schema)
    return types.CallToolResult(content=[_text(f"Elicitation completed: {_describe_elicitation(result)}")])


async def tool_elicitation_enums(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {
                "type": "string",
                "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"},
                ],
            },
            "legacyEnum": {
                "type": "string",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {
                "type": "array",
                "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
            },
            "titledMulti": {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"const": "value1", "title": "First Choice"},
                        {"const": "value2", "title": "Second Choice"},
                        {"const": "value3", "title": "Third Choice"},
                    ]
                },
            },
        },
        "required": [],
    }
    result = await _elicit(ctx, "Pick from each kind of enum", schema)
    return types.CallToolResult(content=[_text(f"Elicitation completed: {_describe_elicitation(result)}")])


async def tool_json_schema(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[_text(f"Received: {json.dumps(args, sort_keys=True)}")])


async def tool_reconnection(ctx: Ctx, args: dict[str, Any]) -> types.CallToolResult:
    # The SDK hands out the close callback only when the client can resume (an
    # event store and protocol >= 2025-11-25); otherwise answer on the same stream.
    if ctx.close_sse_stream is not None:
        await ctx.close_sse_stream()
        # Let the client see the closed stream before the answer is stored for replay.
        await anyio.sleep(0.1)
    return types.CallToolResult(content=[_text("Reconnection test completed successfully")])


ToolFn = Callable[[Ctx, dict[str, Any]], Awaitable[types.CallToolResult]]

TOOL_FUNCTIONS: dict[str, ToolFn] = {
    "test_simple_text": tool_simple_text,
    "test_image_content": tool_image,
    "test_audio_content": tool_audio,
    "test_embedded_resource": tool_embedded_resource,
    "test_multiple_content_types": tool_mixed,
    "test_tool_with_logging": tool_logging,
    "test_tool_with_progress": tool_progress,
    "test_error_handling": tool_error,
    "test_sampling": tool_sampling,
    "test_elicitation": tool_elicitation,
    "test_elicitation_sep1034_defaults": tool_elicitation_defaults,
    "test_elicitation_sep1330_enums": tool_elicitation_enums,
    "json_schema_2020_12_tool": tool_json_schema,
    "test_reconnection": tool_reconnection,
}
assert set(TOOL_FUNCTIONS) == {tool.name for tool in TOOLS}


async def list_tools(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: Ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
    function = TOOL_FUNCTIONS.get(params.name)
    if function is None:
        return types.CallToolResult(is_error=True, content=[_text(f"Unknown tool: {params.name}")])
    return await function(ctx, dict(params.arguments or {}))


async def list_resources(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
    return types.ListResourcesResult(resources=RESOURCES)


async def list_templates(
    ctx: Ctx, params: types.PaginatedRequestParams | None
) -> types.ListResourceTemplatesResult:
    return types.ListResourceTemplatesResult(resource_templates=TEMPLATES)


class ResourceNotFound(Exception):
    pass


async def read_resource(ctx: Ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
    uri = str(params.uri)
    contents: types.TextResourceContents | types.BlobResourceContents
    if uri == "test://static-text":
        contents = types.TextResourceContents(uri=uri, mime_type="text/plain", text=STATIC_TEXT)
    elif uri == "test://static-binary":
        contents = types.BlobResourceContents(uri=uri, mime_type="image/png", blob=PNG)
    elif uri == WATCHED_URI:
        contents = types.TextResourceContents(
            uri=uri, mime_type="text/plain", text="Watched resource content."
        )
    elif uri.startswith(TEMPLATE_PREFIX) and uri.endswith(TEMPLATE_SUFFIX):
        ident = uri[len(TEMPLATE_PREFIX) : -len(TEMPLATE_SUFFIX)]
        if not ident or "/" in ident:
            raise ResourceNotFound(uri)
        document = {"id": ident, "templateTest": True, "data": f"Data for ID: {ident}"}
        contents = types.TextResourceContents(
            uri=uri, mime_type="application/json", text=json.dumps(document, separators=(",", ":"))
        )
    else:
        raise ResourceNotFound(uri)
    return types.ReadResourceResult(contents=[contents])


async def subscribe(ctx: Ctx, params: types.SubscribeRequestParams) -> types.EmptyResult:
    STATE.of(ctx).subscriptions.add(str(params.uri))
    return types.EmptyResult()


async def unsubscribe(ctx: Ctx, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
    STATE.of(ctx).subscriptions.discard(str(params.uri))
    return types.EmptyResult()


async def list_prompts(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
    return types.ListPromptsResult(prompts=PROMPTS)


def _user(content: Any) -> types.PromptMessage:
    return types.PromptMessage(role="user", content=content)


async def get_prompt(ctx: Ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
    args = dict(params.arguments or {})
    if params.name == "test_simple_prompt":
        messages = [_user(_text("This is a simple prompt for testing."))]
    elif params.name == "test_prompt_with_arguments":
        text = f"Prompt with arguments: arg1='{args.get('arg1', '')}', arg2='{args.get('arg2', '')}'"
        messages = [_user(_text(text))]
    elif params.name == "test_prompt_with_embedded_resource":
        resource = types.TextResourceContents(
            uri=args.get("resourceUri", "test://example-resource"),
            mime_type="text/plain",
            text="Embedded resource content for testing.",
        )
        messages = [
            _user(types.EmbeddedResource(type="resource", resource=resource)),
            _user(_text("Please process the embedded resource above.")),
        ]
    elif params.name == "test_prompt_with_image":
        messages = [
            _user(types.ImageContent(type="image", data=PNG, mime_type="image/png")),
            _user(_text("Please analyze the image above.")),
        ]
    else:
        raise ValueError(f"Unknown prompt: {params.name}")
    return types.GetPromptResult(messages=messages)


async def complete(ctx: Ctx, params: types.CompleteRequestParams) -> types.CompleteResult:
    ref = params.ref
    name = getattr(ref, "name", None) or getattr(ref, "uri", "")
    candidates = COMPLETIONS.get((str(name), params.argument.name), [])
    values = [value for value in candidates if value.startswith(params.argument.value)]
    return types.CompleteResult(completion=types.Completion(values=values, total=len(values), has_more=False))


async def set_level(ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
    STATE.of(ctx).log_level = params.level
    return types.EmptyResult()


def build_server() -> Server[Any]:
    return Server(
        SERVER_NAME,
        version=SERVER_VERSION,
        instructions="Test server for the MCP conformance suite's server scenarios.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_subscribe_resource=subscribe,
        on_unsubscribe_resource=unsubscribe,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_completion=complete,
        on_set_logging_level=set_level,
    )


class MemoryEventStore(EventStore):
    """Keeps every SSE event in memory so a dropped stream can be replayed after Last-Event-ID.

    The SDK names a POST stream after its request id and shares one store across
    sessions, so two sessions' streams for the same id share a name here; replay stops
    at the stream's response, which keeps the usual one-call-at-a-time test runs apart.
    """

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._events: list[tuple[EventId, StreamId, types.JSONRPCMessage | None]] = []

    async def store_event(self, stream_id: StreamId, message: types.JSONRPCMessage | None) -> EventId:
        event_id = f"{stream_id}:{next(self._counter)}"
        self._events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        position = next((i for i, event in enumerate(self._events) if event[0] == last_event_id), None)
        if position is None:
            return None
        stream_id = self._events[position][1]
        for event_id, stream, message in self._events[position + 1 :]:
            if stream == stream_id and message is not None:
                await send_callback(EventMessage(message, event_id))
                if isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
                    break
        return stream_id


class SessionVersionMiddleware:
    """Reads each HTTP session at the newest protocol version its client has declared.

    The server-sse-polling scenario opens a 2025-11-25 session, then sends its raw
    tools/call with ``MCP-Protocol-Version: 2025-03-26``.  The SDK decides on that
    header alone whether a POST stream gets a priming event and may be closed for
    the client to resume, so without this the scenario never exercises resumption.
    Remembering the session's version (from the client's own earlier headers) lets
    the server show the SSE polling behaviour that mcpwall has to relay.
    """

    HEADER = b"mcp-protocol-version"
    SESSION = b"mcp-session-id"

    def __init__(self, app: Any) -> None:
        self.app = app
        self.versions: dict[bytes, bytes] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
            values = dict(headers)
            session, version = values.get(self.SESSION), values.get(self.HEADER)
            if session is not None and version is not None:
                known = self.versions.get(session)
                # Protocol versions are ISO dates, so byte order is release order.
                if known is None or version > known:
                    self.versions[session] = version
                elif version < known:
                    headers = [(k, known if k == self.HEADER else v) for k, v in headers]
                    scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def serve_http(server: Server[Any], host: str, port: int) -> None:
    import uvicorn

    app = server.streamable_http_app(event_store=MemoryEventStore(), retry_interval=1000, host=host)
    uvicorn.run(SessionVersionMiddleware(app), host=host, port=port, log_level="warning", lifespan="on")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (http only)")
    parser.add_argument("--port", type=int, default=8931, help="port to listen on (http only)")
    options = parser.parse_args(argv)
    server = build_server()
    if options.transport == "stdio":
        anyio.run(serve_stdio, server)
        return 0
    if options.host not in LOOPBACK:
        parser.error(f"--host must be a loopback address ({', '.join(LOOPBACK)})")
    serve_http(server, options.host, options.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""An MCP server (official ``mcp`` SDK) with the tools of a typical agent workspace, for data-flow
and approval tests: ``read_file`` (private data), ``fetch`` (untrusted input from the web),
``send_email`` (an external sink) and ``delete_file``. Nothing real happens: each tool
reports what it would have done.

    python tests/servers/workspace_server.py
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server

Ctx = ServerRequestContext[Any, Any]


def _schema(*names: str) -> dict[str, Any]:
    return {"type": "object", "properties": {n: {"type": "string"} for n in names}, "required": list(names)}


TOOLS = [
    types.Tool(name="read_file", description="Reads a file from the user's disk.", input_schema=_schema("path")),
    types.Tool(name="fetch", description="Fetches a URL from the web and returns its text.", input_schema=_schema("url")),
    types.Tool(name="send_email", description="Sends an email.", input_schema=_schema("to", "body")),
    types.Tool(name="delete_file", description="Deletes a file.", input_schema=_schema("path")),
]


async def list_tools(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: Ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = dict(params.arguments or {})
    text = f"{params.name} done: " + ", ".join(f"{k}={v}" for k, v in sorted(args.items()))
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


async def serve() -> None:
    server = Server("workspace", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(serve)

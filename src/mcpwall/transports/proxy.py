"""``mcpwall proxy``: the HTTP gateway's command line.

    mcpwall proxy --upstream https://example.com/mcp [--listen 127.0.0.1:8787]
    mcpwall proxy --upstream NAME            # a named entry of ``upstreams:`` in the config
    mcpwall proxy [--listen ...] -- COMMAND ARGS...   # HTTP clients reach a stdio server

Registered in :data:`mcpwall.cli.ADDERS`; heavy imports happen only when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from ..errors import ConfigError


def add_proxy(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "proxy", parents=[common], help="serve MCP over Streamable HTTP in front of a server",
        usage="mcpwall proxy [OPTIONS] (--upstream URL|NAME | [--] COMMAND [ARGS...])",
        description="Listen for MCP clients over Streamable HTTP and relay every message, inspected, to an "
        "HTTP upstream (--upstream) or to a stdio server started per session (COMMAND).",
    )
    p.add_argument("--upstream", metavar="URL|NAME", help="Streamable HTTP URL, or a name under upstreams: in the config")
    p.add_argument("--listen", metavar="HOST:PORT", help="address to listen on (default 127.0.0.1:8787)")
    p.add_argument("--path", metavar="PATH", help="endpoint path (default /mcp)")
    p.add_argument("--mode", choices=["monitor", "enforce"], help="monitor records, enforce applies verdicts")
    p.add_argument("--audit", metavar="PATH", help="SQLite audit log path")
    p.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    p.add_argument("--allow-remote", action="store_true", default=None,
                   help="allow listening on a non-loopback address")
    p.add_argument("--allowed-host", metavar="HOST", action="append", default=None,
                   help="extra accepted Host header value (repeatable)")
    p.add_argument("--allowed-origin", metavar="ORIGIN", action="append", default=None,
                   help="extra accepted Origin (repeatable)")
    p.add_argument("--env", metavar="KEY=VALUE", action="append", default=[],
                   help="extra environment variable for a stdio server (repeatable)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="stdio server command and its arguments")
    p.set_defaults(handler=cmd_proxy)


def cmd_proxy(args: argparse.Namespace) -> int:
    from ..app import App
    from ..cli import _parse_env, settings_from, setup_logging
    from .http import serve

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if bool(command) == bool(args.upstream):
        raise ConfigError("proxy needs exactly one of --upstream URL and a stdio server command, e.g. "
                          "mcpwall proxy --upstream http://127.0.0.1:3001/mcp  or  "
                          "mcpwall proxy -- npx -y @modelcontextprotocol/server-everything")
    overrides: dict[str, Any] = {
        "mode": args.mode, "audit.path": args.audit, "http.listen": args.listen, "http.path": args.path,
        "http.tls_cert": args.tls_cert, "http.tls_key": args.tls_key, "http.allow_remote": args.allow_remote,
        "http.allowed_hosts": args.allowed_host, "http.allowed_origins": args.allowed_origin,
    }
    settings = settings_from(args, **overrides)
    setup_logging(settings)
    env = {**os.environ, **_parse_env(args.env)}

    async def run() -> int:
        app = App(settings)
        if command:
            from .bridge import StdioChild

            async def make_child(stateless: bool) -> Any:
                return StdioChild(command, env, settings.child, settings.limits.max_message_bytes)

            return await serve(app, make_child, " ".join(command))
        from .upstream import HttpUpstream, UpstreamClient

        target = args.upstream
        entry = settings.upstreams.get(target)
        if entry is not None:
            url, headers, verify = entry.url, {k: v.get_secret_value() for k, v in entry.headers.items()}, entry.verify_tls
        elif target.startswith(("http://", "https://")):
            url, headers, verify = target, {}, True
        else:
            raise ConfigError(f"--upstream {target!r} is neither an http(s) URL nor a name under upstreams: "
                              f"(known: {', '.join(sorted(settings.upstreams)) or 'none'})")
        client = UpstreamClient(url, headers, connect_timeout=settings.http.connect_timeout,
                                max_bytes=settings.limits.max_message_bytes, verify_tls=verify)

        async def make_http(stateless: bool) -> Any:
            return HttpUpstream(client, stateless=stateless)

        return await serve(app, make_http, url, cleanup=client.close, tools=client.tools)

    try:
        import uvloop

        return uvloop.run(run())
    except ImportError:
        return asyncio.run(run())

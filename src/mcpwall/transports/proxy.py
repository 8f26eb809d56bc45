"""``mcpwall proxy``: the HTTP gateway's command line.

    mcpwall proxy --upstream https://example.com/mcp [--listen 127.0.0.1:8787]
    mcpwall proxy --upstream NAME            # a named entry of ``upstreams:`` in the config
    mcpwall proxy [--listen ...] -- COMMAND ARGS...   # HTTP clients reach a stdio server
    mcpwall proxy --config mcpwall.yaml      # every entry of upstreams: at /servers/<name>/mcp,
                                             # and all of them merged at /mcp

Every target is served over Streamable HTTP (``/mcp``), legacy HTTP+SSE (``/sse`` and
``/messages``) and WebSocket (``/mcp`` upgrades and ``/ws``), whatever it speaks itself.

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
    p.add_argument("--upstream", metavar="URL|NAME", help="server URL, or a name under upstreams: in the config")
    p.add_argument("--upstream-transport", choices=["auto", "streamable-http", "sse", "websocket"], default="auto",
                   help="how to reach --upstream (auto: ws(s):// is WebSocket, a path ending in /sse legacy SSE)")
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


def resolve_upstream(settings: Any, target: str, transport: str = "auto",
                     env: dict[str, str] | None = None) -> Any:
    """An :class:`~.connect.Upstream` for a URL or for a name under ``upstreams:``."""
    from .connect import Upstream

    entry = settings.upstreams.get(target)
    if entry is not None:
        return Upstream.named(settings, target, entry, env or {})
    if target.startswith(("http://", "https://", "ws://", "wss://")):
        return Upstream(settings, url=target, transport=transport, env=env)
    raise ConfigError(f"--upstream {target!r} is neither an http(s)/ws(s) URL nor a name under upstreams: "
                      f"(known: {', '.join(sorted(settings.upstreams)) or 'none'})")


def cmd_proxy(args: argparse.Namespace) -> int:
    from ..app import App
    from ..cli import _parse_env, settings_from, setup_logging
    from .connect import Upstream
    from .http import Target, serve

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if command and args.upstream:
        raise ConfigError("proxy takes either --upstream URL or a stdio server command, not both")
    overrides: dict[str, Any] = {
        "mode": args.mode, "audit.path": args.audit, "http.listen": args.listen, "http.path": args.path,
        "http.tls_cert": args.tls_cert, "http.tls_key": args.tls_key, "http.allow_remote": args.allow_remote,
        "http.allowed_hosts": args.allowed_host, "http.allowed_origins": args.allowed_origin,
    }
    settings = settings_from(args, **overrides)
    setup_logging(settings)
    env = {**os.environ, **_parse_env(args.env)}
    if not command and not args.upstream and not settings.upstreams:
        raise ConfigError("proxy needs --upstream URL, a stdio server command, or upstreams: in the config, e.g. "
                          "mcpwall proxy --upstream http://127.0.0.1:3001/mcp  or  "
                          "mcpwall proxy -- npx -y @modelcontextprotocol/server-everything")

    async def run() -> int:
        app = App(settings)
        named = {name: Upstream.named(settings, name, entry, env) for name, entry in settings.upstreams.items()}
        targets = {name: Target(name, up.label, up.make, up.tools) for name, up in named.items()}
        main: Upstream | None = None
        if command:
            main = Upstream(settings, command=command, env=env)
        elif args.upstream:
            main = named.get(args.upstream) or resolve_upstream(settings, args.upstream, args.upstream_transport, env)

        async def cleanup() -> None:
            for up in {*named.values(), *([main] if main is not None else [])}:
                await up.close()

        if main is not None:
            return await serve(app, main.make, main.label, cleanup=cleanup, tools=main.tools, named=targets)
        if not settings.http.aggregate.enabled:
            return await serve(app, None, "upstreams", cleanup=cleanup, named=targets)
        from .aggregate import Aggregator

        legs = {name: up for name, up in named.items() if settings.upstreams[name].aggregate}

        async def make_aggregate(stateless: bool, owner: str = "") -> Any:
            return Aggregator(settings, legs)

        label = "aggregate(" + ",".join(legs) + ")"
        return await serve(app, make_aggregate, label, cleanup=cleanup, named=targets)

    try:
        import uvloop

        return uvloop.run(run())
    except ImportError:
        return asyncio.run(run())

"""Settings of the HTTP gateway (``http:``) and of named upstream servers (``upstreams:``).

Kept apart from :mod:`mcpwall.config` (which only includes them) so the gateway's knobs live
next to the code that reads them. Every limit has a safe default: the gateway binds to
loopback, checks Host and Origin, and bounds bodies, header time, idle streams, sessions and
streams out of the box.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class AggregateSettings(_Model):
    """The endpoint that merges every named upstream (``/mcp`` when ``upstreams:`` are served)."""

    enabled: bool = Field(True, description="serve the merged endpoint at the root paths")
    separator: str = Field("__", min_length=1, description="between an upstream's prefix and a tool or prompt name")
    routes: dict[str, str] = Field(
        default_factory=dict,
        description="tool-name glob -> upstream: matching tools keep their bare name and calls to them go there")


class HttpSettings(_Model):
    listen: str = Field("127.0.0.1:8787", description="host:port the gateway listens on")
    path: str = Field("/mcp", description="URL path of the MCP endpoint (Streamable HTTP, and WebSocket upgrades)")
    sse_path: str = Field("/sse", description="URL path of the legacy HTTP+SSE event stream")
    messages_path: str = Field("/messages", description="URL path where legacy HTTP+SSE clients POST")
    ws_path: str = Field("/ws", description="another URL path for WebSocket clients")
    allow_remote: bool = Field(False, description="allow binding a non-loopback address")
    allowed_hosts: list[str] = Field(default_factory=list, description="extra Host values accepted")
    allowed_origins: list[str] = Field(default_factory=list, description="extra Origin values accepted")
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="largest request body (413)")
    header_timeout: float = Field(10.0, gt=0, description="seconds to receive request headers (408)")
    body_timeout: float = Field(30.0, gt=0, description="seconds to receive a request body (408)")
    sse_keepalive: float = Field(15.0, gt=0, description="seconds between keep-alive comments")
    sse_idle_timeout: float = Field(300.0, gt=0, description="close a stream idle this long")
    max_sessions: int = Field(256, ge=1, description="concurrent sessions (503 beyond)")
    max_streams: int = Field(1024, ge=1, description="concurrent open response streams (503 beyond)")
    max_streams_per_session: int = Field(64, ge=1, description="per session (429 beyond)")
    session_idle_timeout: float = Field(3600.0, gt=0, description="forget a session idle this long")
    drain_timeout: float = Field(10.0, ge=0, description="seconds open streams get at shutdown")
    connect_timeout: float = Field(10.0, gt=0, description="seconds to connect to an upstream")
    aggregate: AggregateSettings = Field(default_factory=lambda: AggregateSettings())

    @field_validator("path", "sse_path", "messages_path", "ws_path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("must start with /")
        return v


TRANSPORTS = ("auto", "streamable-http", "sse", "websocket", "stdio")


class UpstreamSettings(_Model):
    url: str | None = Field(None, description="the server's URL (Streamable HTTP, legacy SSE or WebSocket)")
    command: list[str] = Field(default_factory=list, description="or: a stdio server's argv, started per session")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment for a stdio server")
    transport: str = Field("auto", description="auto: ws(s):// is WebSocket, a path ending in /sse legacy SSE, "
                                               "else Streamable HTTP; a command is stdio")
    headers: dict[str, SecretStr] = Field(default_factory=dict,
                                          description="headers sent to this server (its credentials)")
    verify_tls: bool = True
    prefix: str | None = Field(None, description="namespace of its tools/prompts/resources when aggregated "
                                                 "(default: the upstream's name)")
    aggregate: bool = Field(True, description="include it in the merged endpoint")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must be an http(s):// or ws(s):// URL")
        return v

    @field_validator("transport")
    @classmethod
    def _transport(cls, v: str) -> str:
        if v not in TRANSPORTS:
            raise ValueError(f"must be one of {', '.join(TRANSPORTS)}")
        return v

    @model_validator(mode="after")
    def _one_target(self) -> UpstreamSettings:
        if (self.url is None) == (not self.command):
            raise ValueError("give exactly one of url and command")
        return self


def transport_of(url: str, transport: str = "auto") -> str:
    """Which back end a URL needs: ``streamable-http``, ``sse`` or ``websocket``."""
    if transport != "auto":
        return transport
    if url.startswith(("ws://", "wss://")):
        return "websocket"
    path = url.split("?", 1)[0].rstrip("/")
    return "sse" if path.endswith("/sse") else "streamable-http"

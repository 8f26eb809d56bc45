"""Settings of the HTTP gateway (``http:``) and of named upstream servers (``upstreams:``).

Kept apart from :mod:`mcpwall.config` (which only includes them) so the gateway's knobs live
next to the code that reads them. Every limit has a safe default: the gateway binds to
loopback, checks Host and Origin, and bounds bodies, header time, idle streams, sessions and
streams out of the box.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class HttpSettings(_Model):
    listen: str = Field("127.0.0.1:8787", description="host:port the gateway listens on")
    path: str = Field("/mcp", description="URL path of the MCP endpoint")
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

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("must start with /")
        return v


class UpstreamSettings(_Model):
    url: str = Field(..., description="Streamable HTTP endpoint of the server")
    headers: dict[str, SecretStr] = Field(default_factory=dict,
                                          description="headers sent to this server (its credentials)")
    verify_tls: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not (v.startswith("http://") or v.startswith("https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v

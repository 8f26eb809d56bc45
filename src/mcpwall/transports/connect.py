"""From "where is the server" to back ends: one :class:`Upstream` per URL, command or named entry.

An upstream is reached over Streamable HTTP (:class:`~.upstream.HttpUpstream`), legacy
HTTP+SSE (:class:`~.legacy.LegacySseUpstream`), a WebSocket
(:class:`~.websocket.WebSocketUpstream`) or stdio (:class:`~.bridge.StdioChild`, one child
per session; warm pooled children for stateless requests). :meth:`Upstream.make` builds the back end of one session; fronts that carry
plain messages wrap a Streamable HTTP back end in :class:`~.emulator.StreamableClient`
(:meth:`Upstream.make_message`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import Settings
from ..errors import ConfigError
from .settings import UpstreamSettings, transport_of


class Upstream:
    """One server mcpwall relays to, and how to open a session to it."""

    def __init__(self, settings: Settings, *, url: str | None = None, command: Sequence[str] = (),
                 env: Mapping[str, str] | None = None, transport: str = "auto",
                 headers: Mapping[str, str] | None = None, verify_tls: bool = True, name: str = "") -> None:
        if (url is None) == (not command):
            raise ConfigError("an upstream needs exactly one of a URL and a command")
        self.settings = settings
        self.name = name
        self.url = url
        self.command = list(command)
        self.env = dict(env or {})
        self.transport = "stdio" if command else transport_of(url or "", transport)
        self.label = url if url is not None else " ".join(self.command)
        self.client: Any = None
        self._tools: dict[str, Any] = {}
        self._pool: Any = None  # warm children for stateless requests (stdio only)
        if url is not None:
            from .upstream import UpstreamClient

            self.client = UpstreamClient(url, dict(headers or {}), connect_timeout=settings.http.connect_timeout,
                                         max_bytes=settings.limits.max_message_bytes, verify_tls=verify_tls)

    @classmethod
    def named(cls, settings: Settings, name: str, entry: UpstreamSettings, env: Mapping[str, str]) -> Upstream:
        headers = {k: v.get_secret_value() for k, v in entry.headers.items()}
        return cls(settings, url=entry.url, command=entry.command, env={**env, **entry.env},
                   transport=entry.transport, headers=headers, verify_tls=entry.verify_tls, name=name)

    @property
    def tools(self) -> dict[str, Any]:
        """Tool definitions seen for this upstream (shared with its HTTP client)."""
        return self.client.tools if self.client is not None else self._tools

    async def make(self, stateless: bool = False, owner: str = "") -> Any:
        """The back end of one new session (not started yet); ``owner`` is the caller's
        identity, which a stateless request's warm child is never shared across."""
        if self.transport == "stdio":
            from .bridge import ChildPool, StdioChild

            if stateless:
                if self._pool is None:
                    self._pool = ChildPool(self.command, self.env, self.settings.child,
                                           self.settings.limits.max_message_bytes)
                return self._pool.lease(owner)
            return StdioChild(self.command, self.env, self.settings.child, self.settings.limits.max_message_bytes)
        if self.transport == "sse":
            from .legacy import LegacySseUpstream

            return LegacySseUpstream(self.client)
        if self.transport == "websocket":
            from .websocket import WebSocketUpstream

            return WebSocketUpstream(self.client)
        from .upstream import HttpUpstream

        return HttpUpstream(self.client, stateless=stateless)

    async def make_message(self) -> Any:
        """A back end that carries plain messages (for the stdio, SSE, WebSocket fronts)."""
        backend = await self.make(False)
        if not getattr(backend, "emulated", False):
            from .emulator import StreamableClient

            backend = StreamableClient(backend)
        return backend

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        if self.client is not None:
            await self.client.close()

"""Assembly: settings in, audit sink + pipeline + relays out. Shared by every front end."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from . import inspectors
from .audit.chain import key_is_private, load_or_create_key, parse_key
from .audit.sqlite import SqliteAudit
from .config import Settings, audit_path, state_dir
from .pipeline import Pipeline
from .relay import AuditSink, NullAudit, Peer, Relay
from .session import Identity, Session

log = logging.getLogger(__name__)


def audit_key(settings: Settings, env: Mapping[str, str] | None = None) -> bytes:
    if settings.audit.key is not None:
        return parse_key(settings.audit.key.get_secret_value())
    path = settings.audit.key_file or state_dir(env) / "audit.key"
    key = load_or_create_key(Path(path).expanduser())
    if not key_is_private(Path(path).expanduser()):
        log.warning("audit key %s is readable by other users; chmod 600 it", path)
    return key


def open_audit(settings: Settings, env: Mapping[str, str] | None = None) -> AuditSink:
    if not settings.audit.enabled:
        return NullAudit()
    a = settings.audit
    return SqliteAudit(
        Path(audit_path(settings, env)).expanduser(),
        audit_key(settings, env),
        flush_interval=a.flush_interval_ms / 1000,
        flush_rows=a.flush_rows,
        max_frame_bytes=a.max_frame_bytes,
    )


class App:
    """One running mcpwall: its settings, audit sink and pipeline."""

    def __init__(self, settings: Settings, env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.env = dict(os.environ if env is None else env)
        self.audit = open_audit(settings, self.env)
        self.pipeline: Pipeline = inspectors.build(settings)

    def relay(self, upstream: str, client: Peer | None = None, server: Peer | None = None,
              identity: Identity | None = None) -> Relay:
        session = Session(upstream=upstream, identity=identity or Identity())
        return Relay(
            self.pipeline, session, enforce=self.settings.enforce, audit=self.audit, client=client,
            server=server, max_bytes=self.settings.limits.max_message_bytes,
            max_depth=self.settings.limits.max_depth,
        )

    async def close(self) -> None:
        await self.pipeline.close()
        close = getattr(self.audit, "close", None)
        if close is not None:
            await close()

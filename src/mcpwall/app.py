"""Assembly: settings in, audit sink + pipeline + relays out. Shared by every front end."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from . import inspectors
from .audit.chain import key_is_private, load_or_create_key, parse_key
from .audit.sqlite import SqliteAudit
from .config import Settings, audit_path, load, state_dir
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
        # How to read the settings again on reload (front ends re-apply their flags here).
        self.loader: Callable[[], Settings] | None = (
            (lambda: load(settings.source, env=self.env)) if settings.source is not None else None)
        self.reloads = 0

    def relay(self, upstream: str, client: Peer | None = None, server: Peer | None = None,
              identity: Identity | None = None) -> Relay:
        session = Session(upstream=upstream, identity=identity or Identity())
        return Relay(
            self.pipeline, session, enforce=self.settings.enforce, audit=self.audit, client=client,
            server=server, max_bytes=self.settings.limits.max_message_bytes,
            max_depth=self.settings.limits.max_depth,
        )

    # --- reload (SIGHUP, file change) ---------------------------------------------------

    def reload(self) -> bool:
        """Read the config again and swap the policy in place; sessions stay open.

        A config that does not load or compile is rejected with its error and the running
        policy is kept. The mode and the audit settings are not changed by a reload.
        """
        if self.loader is None:
            log.warning("reload requested, but mcpwall was not started with a config file")
            return False
        targets = [i for i in self.pipeline.inspectors if callable(getattr(i, "reload", None))]
        try:
            new = self.loader()
            for inspector in targets:
                inspector.reload(new)  # type: ignore[attr-defined]
        except Exception as e:  # keep serving with the old policy whatever went wrong
            why = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
            log.error("policy reload failed, keeping the running policy: %s", why)
            return False
        self.reloads += 1
        log.info("policy reloaded from %s (reload %d)", self.settings.source, self.reloads)
        return True

    def watched_files(self) -> list[Path]:
        files = [self.settings.source] if self.settings.source is not None else []
        for inspector in self.pipeline.inspectors:
            watched = getattr(inspector, "watched_files", None)
            if callable(watched):
                files.extend(watched())
        return list(dict.fromkeys(files))

    async def watch(self, interval: float = 1.0) -> None:
        """Reload when a policy file changes (checked every ``interval`` seconds)."""

        def stamp() -> dict[Path, tuple[int, int] | None]:
            out: dict[Path, tuple[int, int] | None] = {}
            for path in self.watched_files():
                try:
                    st = path.stat()
                    out[path] = (st.st_mtime_ns, st.st_size)
                except OSError:
                    out[path] = None
            return out

        seen = stamp()
        while True:
            await asyncio.sleep(interval)
            now = stamp()
            if now != seen:
                log.info("policy file changed; reloading")
                self.reload()
                seen = stamp()

    async def close(self) -> None:
        await self.pipeline.close()
        close = getattr(self.audit, "close", None)
        if close is not None:
            await close()

"""Canonical hashes of what a server offers, and the diff between two catalogues.

A tool, prompt, resource template or the server instructions is reduced to its canonical
JSON (sorted keys, whitespace in text collapsed) and hashed with SHA-256, once with its
name (``hash``: detects a changed item) and once without (``body_hash``: detects the same
content under a new name). Only the fields that tell a model what an item does are
hashed, so cosmetic transport details (``_meta``, icons) do not cause drift alarms.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..state import PinEntry

# Which list method carries which kind of item, and the result key holding the items.
LISTS: dict[str, tuple[str, str]] = {
    "tools/list": ("tool", "tools"),
    "prompts/list": ("prompt", "prompts"),
    "resources/templates/list": ("resource_template", "resourceTemplates"),
}
_FIELDS: dict[str, tuple[str, ...]] = {
    "tool": ("title", "description", "inputSchema", "outputSchema", "annotations"),
    "prompt": ("title", "description", "arguments"),
    "resource_template": ("title", "description", "uriTemplate", "mimeType", "annotations"),
}
_NAME_KEY = {"tool": "name", "prompt": "name", "resource_template": "name"}
_WS = re.compile(r"\s+")


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return _WS.sub(" ", value).strip()
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def canonical(value: Any) -> str:
    return json.dumps(_normalise(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry(kind: str, item: Mapping[str, Any]) -> PinEntry | None:
    """The pin entry of one listed item, or None when it has no usable name."""
    name = item.get(_NAME_KEY[kind])
    if not isinstance(name, str):
        return None
    body = {k: item[k] for k in _FIELDS[kind] if k in item}
    if kind == "resource_template" and not body.get("uriTemplate"):
        return None
    body_text = canonical(body)
    whole = canonical({"name": name, **body})
    return PinEntry(kind, name, _sha(whole), _sha(kind + "\0" + body_text), whole)


def instructions_entry(text: str | None) -> PinEntry | None:
    if text is None:
        return None
    c = canonical({"instructions": text})
    return PinEntry("instructions", "instructions", _sha(c), _sha(c), c)


def set_hash(entries: Iterable[PinEntry]) -> str:
    parts = sorted(f"{e.kind}\0{e.name}\0{e.hash}" for e in entries)
    return _sha("\n".join(parts))


def upstream_key(upstream: str, server_info: Mapping[str, Any]) -> str:
    """Identifies an upstream by how it is reached and which server answers there.

    The server version is left out on purpose: an upgrade shows up as drift to approve,
    not as a fresh upstream trusted on first use.
    """
    name = server_info.get("name") if isinstance(server_info.get("name"), str) else ""
    return _sha(f"{upstream}\0{name}")[:16]


@dataclass(slots=True)
class Drift:
    """How a listing differs from the pins of its kind(s)."""

    added: list[PinEntry] = field(default_factory=list)
    changed: list[tuple[PinEntry, PinEntry]] = field(default_factory=list)  # (pinned, observed)
    renamed: list[tuple[PinEntry, PinEntry]] = field(default_factory=list)  # (pinned, observed)
    removed: list[PinEntry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.renamed or self.removed)

    @property
    def unapproved(self) -> list[PinEntry]:
        """Observed items that differ from every pin: the ones to quarantine."""
        return [*self.added, *(o for _, o in self.changed), *(o for _, o in self.renamed)]

    def lines(self) -> list[str]:
        out = [f"+ {e.kind} {e.name!r} (new)" for e in self.added]
        out += [f"~ {o.kind} {o.name!r} changed" for _, o in self.changed]
        out += [f"> {p.kind} {p.name!r} renamed to {o.name!r}" for p, o in self.renamed]
        out += [f"- {e.kind} {e.name!r} (removed)" for e in self.removed]
        return out


def diff(pinned: Mapping[tuple[str, str], PinEntry], observed: Iterable[PinEntry], *,
         complete: bool) -> Drift:
    """Compare a listing to the pins of its kind. Removals are only known from a complete listing."""
    seen = list(observed)
    seen_keys = {(e.kind, e.name) for e in seen}
    by_body: dict[str, PinEntry] = {}
    for p in pinned.values():
        if (p.kind, p.name) not in seen_keys:
            by_body.setdefault(p.body_hash, p)
    drift = Drift()
    renamed_from: set[tuple[str, str]] = set()
    for e in seen:
        pin = pinned.get((e.kind, e.name))
        if pin is None:
            old = by_body.get(e.body_hash)
            if old is not None and (old.kind, old.name) not in renamed_from:
                drift.renamed.append((old, e))
                renamed_from.add((old.kind, old.name))
            else:
                drift.added.append(e)
        elif pin.hash != e.hash:
            drift.changed.append((pin, e))
    if complete:
        for key, pin in pinned.items():
            if key not in seen_keys and key not in renamed_from:
                drift.removed.append(pin)
    return drift


def describe_change(pinned: PinEntry, observed: PinEntry) -> list[str]:
    """Field by field, what changed between two versions of an item."""
    a, b = json.loads(pinned.content), json.loads(observed.content)
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append(f"    {k}: {_short(a.get(k))} -> {_short(b.get(k))}")
    return out


def _short(value: Any, limit: int = 160) -> str:
    text = "(absent)" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."

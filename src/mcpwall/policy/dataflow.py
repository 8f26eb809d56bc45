"""Data flow: which tools read private data, bring in untrusted input, or send data out,
and what each session has touched so far.

Labels come from three places, all added together: the ``labels`` section of the policy,
the tool's MCP annotations (``openWorldHint``, ``readOnlyHint``), and a deliberately
conservative classifier over the tool's name and description that only labels on clear
words (``send_*`` is a sink, ``fetch``/``browse`` bring untrusted input, ``read_file`` reads
private data). The session remembers the labels of every call it let through, and the
names of the tools called, so rules can stop the "lethal trifecta" (private data +
untrusted input + an external sink) and ``from: read_* to: send_*`` sequences.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .rules import Glob, LabelRule

UNTRUSTED = "untrusted_input"
PRIVATE = "private_data"
SINK = "external_sink"

_SINK_VERBS = frozenset({
    "send", "post", "publish", "upload", "tweet", "share", "notify", "submit", "push", "comment",
    "reply", "forward", "transfer", "pay", "sms", "email", "mail", "webhook", "broadcast", "dm",
})
_SINK_WORDS = frozenset({"send", "upload", "publish", "webhook", "tweet", "sms", "broadcast"})
_UNTRUSTED_WORDS = frozenset({
    "fetch", "browse", "browser", "http", "https", "url", "web", "scrape", "crawl", "download", "curl",
    "wget", "rss", "feed", "websearch", "internet", "navigate",
})
_PRIVATE_WORDS = frozenset({
    "read", "cat", "file", "files", "secret", "secrets", "password", "passwords", "credential",
    "credentials", "env", "ssh", "keychain", "database", "db", "sql", "query", "inbox", "calendar",
    "contacts", "private", "clipboard", "history", "notes", "drive", "vault",
})
_UNTRUSTED_PHRASES = re.compile(
    r"(?i)\b(fetch(es)? (a |the )?(url|web ?page|website)|from the (web|internet)|web ?pages?|https? url|"
    r"browse the web|search the web)\b")
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def words(name: str) -> list[str]:
    """``sendEmail`` / ``send_email`` / ``send-email`` -> ``["send", "email"]``."""
    return [w.lower() for w in _WORD.findall(name)]


def classify(name: str, tool: Mapping[str, Any] | None = None) -> set[str]:
    """Labels from the name, description and annotations; empty when nothing is clear."""
    out: set[str] = set()
    ws = words(name)
    first = ws[0] if ws else ""
    wordset = set(ws)
    if first in _SINK_VERBS or wordset & _SINK_WORDS:
        out.add(SINK)
    if wordset & _UNTRUSTED_WORDS:
        out.add(UNTRUSTED)
    if wordset & _PRIVATE_WORDS and first not in _SINK_VERBS:
        out.add(PRIVATE)
    if tool:
        desc = tool.get("description")
        if isinstance(desc, str) and _UNTRUSTED_PHRASES.search(desc):
            out.add(UNTRUSTED)
        ann = tool.get("annotations")
        if isinstance(ann, dict) and ann.get("openWorldHint") is True:
            out.add(UNTRUSTED)
            if ann.get("readOnlyHint") is not True:
                out.add(SINK)
    return out


class Labeller:
    """Labels of a tool, from the policy's label rules and (optionally) the classifier."""

    def __init__(self, rules: Iterable[LabelRule], *, classify_tools: bool) -> None:
        self.rules = [(Glob(r.tool), Glob(r.upstream) if r.upstream else None, frozenset(r.labels)) for r in rules]
        self.classify = classify_tools

    def labels(self, name: str, upstream: str, tool: Mapping[str, Any] | None) -> frozenset[str]:
        out: set[str] = set()
        for tool_glob, up_glob, labels in self.rules:
            if tool_glob(name) and (up_glob is None or up_glob(upstream)):
                out |= labels
        if self.classify:
            out |= classify(name, tool)
        return frozenset(out)


@dataclass(slots=True)
class Flow:
    """What one session has touched: labels of calls let through, and tools called."""

    touched: set[str] = field(default_factory=set)
    called: deque[str] = field(default_factory=lambda: deque(maxlen=1024))
    labels: dict[str, frozenset[str]] = field(default_factory=dict)  # tool name -> labels (cache)
    version: int = -1  # labeller version the cache was built with

    def record(self, tool: str, labels: frozenset[str]) -> None:
        self.touched |= labels
        self.called.append(tool)

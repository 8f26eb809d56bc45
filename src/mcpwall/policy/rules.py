"""The policy rule model: ordered rules with a match block and an action.

Rules are matched first to last and the first match wins; when none matches, ``default``
decides. Patterns are globs (``run_*``), case-sensitive, and a list means any of them.
"""

from __future__ import annotations

import fnmatch
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Action(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    WARN = "warn"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError("must be a glob pattern or a list of glob patterns")


class Glob:
    """A compiled set of glob patterns; matches when any pattern matches the whole text."""

    __slots__ = ("_regex", "patterns")

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = patterns
        self._regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))

    def __call__(self, text: str | None) -> bool:
        return text is not None and self._regex.match(text) is not None


class Match(_Model):
    method: list[str] | None = None
    tool: list[str] | None = None

    @field_validator("method", "tool", mode="before")
    @classmethod
    def _globs(cls, v: Any) -> list[str] | None:
        return _as_list(v)


class Rule(_Model):
    name: str = Field(min_length=1)
    match: Match = Field(default_factory=Match)
    action: Action
    reason: str | None = None


class PolicySettings(_Model):
    default: Action = Action.ALLOW
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("default")
    @classmethod
    def _default(cls, v: Action) -> Action:
        if v is Action.WARN:
            raise ValueError("default must be allow or deny")
        return v

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for r in rules:
            if r.name in seen:
                raise ValueError(f"rule name {r.name!r} is used twice")
            seen.add(r.name)
        return rules


class CompiledRule:
    """A rule with its globs compiled, ready to match on the hot path."""

    __slots__ = ("action", "method", "name", "reason", "rule", "tool")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.name = rule.name
        self.action = rule.action
        self.reason = rule.reason
        self.method = Glob(rule.match.method) if rule.match.method else None
        self.tool = Glob(rule.match.tool) if rule.match.tool else None

    def matches(self, method: str | None, tool: str | None) -> bool:
        if self.method is not None and not self.method(method):
            return False
        return not (self.tool is not None and not self.tool(tool))


class RuleSet:
    """Ordered compiled rules; ``decide`` returns the first matching rule or None."""

    def __init__(self, settings: PolicySettings) -> None:
        self.settings = settings
        self.default = settings.default
        self.rules = [CompiledRule(r) for r in settings.rules]

    def decide(self, method: str | None, tool: str | None) -> CompiledRule | None:
        for rule in self.rules:
            if rule.matches(method, tool):
                return rule
        return None

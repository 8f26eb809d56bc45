"""The policy rule model: ordered rules with a match block and an action, as written in YAML.

Rules are matched first to last and the first match wins; when none matches, ``default``
decides. Patterns are globs (``run_*``), case-sensitive, and a list means any of them.
This module only declares and validates the configuration; :mod:`mcpwall.policy.engine`
compiles it once into matchers for the hot path.

```yaml
policy:
  default: allow                    # allow | deny
  extends: {path: base.yaml, sha256: 3f5a...}   # a base this file can only restrict
  rules:
    - name: no-shell
      match: {method: tools/call, tool: "run_*"}
      action: deny                  # allow | deny | warn | redact | require_approval
      reason: shell tools are not allowed here
```
"""

from __future__ import annotations

import fnmatch
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..verdict import Severity


class Action(StrEnum):
    ALLOW = "allow"
    WARN = "warn"
    REDACT = "redact"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"

    @property
    def strictness(self) -> int:
        return _STRICTNESS[self]


_STRICTNESS = {Action.ALLOW: 0, Action.WARN: 1, Action.REDACT: 2, Action.REQUIRE_APPROVAL: 3, Action.DENY: 4}

LABELS = ("untrusted_input", "private_data", "external_sink")
Label = Literal["untrusted_input", "private_data", "external_sink"]
MessageKind = Literal["request", "notification", "response"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if not value:
            raise ValueError("must not be an empty list (leave the key out to match anything)")
        return list(value)
    raise ValueError("must be a glob pattern or a list of glob patterns")


class Glob:
    """A compiled set of glob patterns; matches when any pattern matches the whole text.

    Arguments are attacker-controlled and may be megabytes long, so matching must stay
    linear: plain names are a set lookup, patterns with ``*`` as their only wildcard (the
    common ``*evil*``, ``https://*``) are matched with ``startswith``/``find``/``endswith``
    (greedy leftmost matching is exact for ``*``), and only patterns with ``?`` or ``[...]``
    go to a regular expression: ``fnmatch``'s own translation, run by RE2 (linear) when it
    accepts it, else by ``re`` (the translation keeps several stars from backtracking).
    """

    __slots__ = ("_exact", "_regex", "_stars", "patterns")

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = patterns
        literal = [p for p in patterns if not any(c in p for c in "*?[")]
        self._exact = frozenset(literal)
        self._stars = [p.split("*") for p in patterns if p not in self._exact and not any(c in p for c in "?[")]
        wild = [p for p in patterns if p not in self._exact and any(c in p for c in "?[")]
        self._regex = _full_regex("|".join(f"(?:{_glob_regex(p)})" for p in wild)) if wild else None

    def __call__(self, text: str | None) -> bool:
        if text is None:
            return False
        if text in self._exact:
            return True
        for parts in self._stars:
            if _star_match(parts, text):
                return True
        return self._regex is not None and self._regex(text)

    @property
    def matches_everything(self) -> bool:
        return "*" in self.patterns

    def covers(self, other: Glob) -> bool:
        """True when every text ``other`` matches, this matches too (decidable cases only)."""
        if self.matches_everything:
            return True
        return all(p in self.patterns or (not any(c in p for c in "*?[") and self(p)) for p in other.patterns)


def _star_match(parts: list[str], text: str) -> bool:
    """Whether ``text`` matches the glob ``"*".join(parts)`` (``parts`` has two or more)."""
    first, last = parts[0], parts[-1]
    if len(text) < len(first) + len(last) or not text.startswith(first) or not text.endswith(last):
        return False
    pos, end = len(first), len(text) - len(last)
    for middle in parts[1:-1]:
        if middle:
            found = text.find(middle, pos, end)
            if found < 0:
                return False
            pos = found + len(middle)
    return True


def _glob_regex(pattern: str) -> str:
    """A glob as a regular expression body with the standard library's exact semantics
    (``fnmatch.translate``, which also keeps several stars from backtracking), anchored by
    the caller's full match."""
    body = fnmatch.translate(pattern)
    return body[:-2] if body.endswith("\\Z") else body


def _re2(pattern: str) -> Any:
    """``pattern`` compiled with RE2 (linear time), or None when RE2 is not installed or
    lacks a construct the pattern uses (lookaround, atomic groups, backreferences)."""
    try:
        import re2
    except ImportError:  # pragma: no cover - google-re2 is a dependency
        return None
    options = re2.Options()
    options.log_errors = False  # a refusal is expected here, not worth a log line
    try:
        return re2.compile(pattern, options=options)
    except Exception:
        return None


def _full_regex(body: str) -> Any:
    """A whole-text matcher for ``body``: RE2 when it can, else ``re`` (``fnmatch``'s
    translation keeps several stars from backtracking there)."""
    fast = _re2(body)
    if fast is not None:
        return lambda text: fast.fullmatch(text) is not None
    std = re.compile(body)
    return lambda text: std.fullmatch(text) is not None


def search_regex(pattern: str) -> Any:
    """An unanchored matcher for a user's ``regex`` (RE2 when it can, else ``re``), with
    ``.search(text)`` and ``.pattern``."""
    fast = _re2(pattern)
    return fast if fast is not None else re.compile(pattern)


class ArgumentMatch(_Model):
    """A condition on argument values: the string at ``path`` matches ``glob`` or ``regex``.

    ``path`` is a JSON path into the arguments (``$.url``, ``$.files[0]``) or ``*`` for
    any string anywhere in them. Without ``glob`` and ``regex`` it matches when the path
    exists.
    """

    path: str = "*"
    glob: list[str] | None = None
    regex: str | None = None

    @field_validator("glob", mode="before")
    @classmethod
    def _globs(cls, v: Any) -> list[str] | None:
        return _as_list(v)

    @field_validator("regex")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"invalid regular expression: {e}") from None
        return v

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if v != "*":
            from .. import jsonpath

            jsonpath.parse(v)
        return v


class PathMatch(_Model):
    """Matches when a path argument, canonicalised, is inside or outside some directories.

    ``inside``: any path lies in one of these directories. ``outside``: any path lies
    outside all of them. Relative paths are taken from ``root`` (default: mcpwall's
    working directory).
    """

    at: list[str] = Field(min_length=1)
    inside: list[str] | None = None
    outside: list[str] | None = None
    root: str | None = None

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v: Any) -> list[str] | None:
        return _as_list(v)

    @model_validator(mode="after")
    def _one(self) -> PathMatch:
        if (self.inside is None) == (self.outside is None):
            raise ValueError("give exactly one of inside or outside")
        return self


class CommandMatch(_Model):
    """Matches a command argument on its parsed argv (shell words, ``sh -c`` unwrapped).

    ``program``: globs on the program's base name; ``args``: globs any argument matches;
    ``shell_operators: true`` matches a command that chains or redirects (``;``, ``|``,
    ``&&``, ``$(...)``, backticks, ``>``).
    """

    at: list[str] = Field(min_length=1)
    program: list[str] | None = None
    args: list[str] | None = None
    shell_operators: bool | None = None

    @field_validator("at", "program", "args", mode="before")
    @classmethod
    def _globs(cls, v: Any) -> list[str] | None:
        return _as_list(v)


class FindingMatch(_Model):
    """Matches when an earlier inspector (detection, pinning) reported such a finding."""

    category: list[str] | None = None
    rule: list[str] | None = Field(None, alias="kind")
    severity: Severity | None = None  # at least this
    detector: list[str] | None = None

    @field_validator("category", "rule", "detector", mode="before")
    @classmethod
    def _globs(cls, v: Any) -> list[str] | None:
        return _as_list(v)

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, v: Any) -> Severity | None:
        return None if v is None else Severity.parse(v)


class Match(_Model):
    method: list[str] | None = None
    tool: list[str] | None = None
    upstream: list[str] | None = None
    direction: list[Literal["c2s", "s2c"]] | None = None
    kind: list[MessageKind] | None = None
    subject: list[str] | None = None
    roles: list[str] | None = None
    arguments: list[ArgumentMatch] | None = None
    path: PathMatch | None = None
    command: CommandMatch | None = None
    findings: FindingMatch | None = None
    labels: list[Label] | None = None
    after: list[Label] | None = None
    from_: list[str] | None = Field(None, alias="from")
    to: list[str] | None = None

    @field_validator("method", "tool", "upstream", "subject", "roles", "from_", "to", mode="before")
    @classmethod
    def _globs(cls, v: Any) -> list[str] | None:
        return _as_list(v)

    @field_validator("direction", "kind", "labels", "after", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments(cls, v: Any) -> Any:
        # Shorthand: {"$.url": "https://*"} means a glob at that path.
        if isinstance(v, dict):
            return [{"path": k, "glob": g} for k, g in v.items()]
        return v

    @property
    def dynamic(self) -> bool:
        """Conditions that depend on the message's content or the session's history."""
        return any(x is not None for x in (self.arguments, self.path, self.command, self.findings,
                                           self.labels, self.after, self.from_))


class Rule(_Model):
    name: str = Field(min_length=1)
    match: Match = Field(default_factory=Match)
    action: Action
    reason: str | None = None


class Budget(_Model):
    """A response size budget for tools (or whole upstreams)."""

    name: str | None = None
    tool: list[str] | None = None
    upstream: list[str] | None = None
    method: list[str] | None = None
    max_response_bytes: int = Field(ge=256)
    action: Literal["warn", "truncate", "block"] = "truncate"

    @field_validator("tool", "upstream", "method", mode="before")
    @classmethod
    def _globs(cls, v: Any) -> list[str] | None:
        return _as_list(v)


class LabelRule(_Model):
    """Data-flow labels for tools, in addition to annotations and the classifier."""

    tool: list[str]
    upstream: list[str] | None = None
    labels: list[Label]

    @field_validator("tool", "upstream", mode="before")
    @classmethod
    def _globs(cls, v: Any) -> list[str] | None:
        return _as_list(v)


class ApprovalSettings(_Model):
    ttl_seconds: float = Field(600, gt=0, description="how long a grant (or a pending request) lives")
    elicitation: bool = Field(True, description="ask through MCP elicitation when the client supports it")
    timeout_seconds: float = Field(120, gt=0, description="how long to wait for the user's answer")


class CedarSettings(_Model):
    policies: str | None = Field(None, description="Cedar policy text")
    policy_file: Path | None = None
    entities_file: Path | None = None
    methods: list[str] = Field(default_factory=lambda: ["tools/call"])

    @model_validator(mode="after")
    def _one(self) -> CedarSettings:
        if (self.policies is None) == (self.policy_file is None):
            raise ValueError("give exactly one of policies or policy_file")
        return self


class OpaSettings(_Model):
    url: str = Field(pattern=r"^https?://")
    timeout_ms: int = Field(500, ge=1, le=60_000)
    methods: list[str] = Field(default_factory=lambda: ["tools/call"])
    headers: dict[str, str] = Field(default_factory=dict)


class Extends(_Model):
    path: Path
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the base file's bytes")


class PolicySettings(_Model):
    default: Action = Action.ALLOW
    extends: Extends | None = None
    rules: list[Rule] = Field(default_factory=list)
    budgets: list[Budget] = Field(default_factory=list)
    labels: list[LabelRule] = Field(default_factory=list)
    classify: bool = Field(True, description="label tools from their names, descriptions and annotations")
    approvals: ApprovalSettings = Field(default_factory=lambda: ApprovalSettings())
    cedar: CedarSettings | None = None
    opa: OpaSettings | None = None
    watch_seconds: float = Field(1.0, ge=0, description="check policy files for changes this often (0: only SIGHUP)")

    @field_validator("default")
    @classmethod
    def _default(cls, v: Action) -> Action:
        if v not in (Action.ALLOW, Action.DENY):
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
    """Kept for callers of the first rule model: a rule compiled for method/tool matching."""

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
    """Method/tool-only view of a rule set (static conditions), as the first rule model had."""

    def __init__(self, settings: PolicySettings) -> None:
        self.settings = settings
        self.default = settings.default
        self.rules = [CompiledRule(r) for r in settings.rules]

    def decide(self, method: str | None, tool: str | None) -> CompiledRule | None:
        for rule in self.rules:
            if rule.matches(method, tool):
                return rule
        return None

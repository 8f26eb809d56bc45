"""The compiled policy: rules turned into matchers once, composed with their bases.

A :class:`Facts` object describes one message (method, tool, arguments, identity, the
findings gathered so far, the session's data flow). :class:`Layer` is one config file's
rules, first match wins, then its default. :class:`Policy` is the chain of layers built
from ``extends``: every layer decides, and the strictest decision wins — so a personal
config can only restrict its base (denies add up, allows must agree, limits take the
tighter value).

The hot path stays cheap: conditions that depend only on who is calling what (method,
tool, upstream, identity, direction, kind) are evaluated once per distinct combination
and cached; only the rules left over look at arguments, findings or the session's history.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .. import jsonpath
from ..errors import ConfigError
from ..verdict import Finding
from . import commands, paths
from .dataflow import Labeller
from .rules import Action, Budget, Glob, PolicySettings, Rule, search_regex

_DEFAULT_KINDS = frozenset({"request", "notification"})
_ALL_KINDS = frozenset({"request", "notification", "response"})


@dataclass(slots=True)
class Facts:
    """Everything a rule may look at for one message."""

    method: str | None
    tool: str | None = None
    direction: str = "c2s"
    kind: str = "request"
    upstream: str = ""
    subject: str = "local"
    roles: tuple[str, ...] = ()
    arguments: Any = None
    findings: Sequence[Finding] = ()
    labels: frozenset[str] = frozenset()
    touched: frozenset[str] | set[str] = frozenset()
    called: Sequence[str] = ()


@dataclass(slots=True)
class Ruling:
    """One decision: the action, the rule that chose it (None: the default), and why."""

    action: Action
    rule: Rule | None = None
    layer: str = ""
    why: str = ""
    redact: list[str] = field(default_factory=list)  # JSON paths of the message to redact

    @property
    def name(self) -> str:
        return self.rule.name if self.rule is not None else "default"

    @property
    def reason(self) -> str:
        return (self.rule.reason or "") if self.rule is not None else ""


class CompiledRule:
    """A rule with every pattern compiled; ``static`` and ``dynamic`` halves of its match."""

    __slots__ = (
        "after",
        "args",
        "command",
        "command_args",
        "command_at",
        "command_program",
        "directions",
        "dynamic",
        "findings",
        "from_",
        "index",
        "kinds",
        "labels",
        "method",
        "path",
        "path_at",
        "path_root",
        "roles",
        "rule",
        "subject",
        "tool",
        "upstream",
    )

    def __init__(self, rule: Rule, index: int) -> None:
        m = rule.match
        self.rule = rule
        self.index = index
        self.method = Glob(m.method) if m.method else None
        tools = [*(m.tool or []), *(m.to or [])]
        self.tool = Glob(tools) if tools else None
        self.upstream = Glob(m.upstream) if m.upstream else None
        self.subject = Glob(m.subject) if m.subject else None
        self.roles = Glob(m.roles) if m.roles else None
        self.directions = frozenset(m.direction) if m.direction else None
        self.kinds: frozenset[str]
        if m.kind:
            self.kinds = frozenset(m.kind)
        else:
            # Rules about findings look at every message (results carry secrets too);
            # other rules are about what a peer asks for.
            self.kinds = _ALL_KINDS if m.findings is not None else _DEFAULT_KINDS
        self.args = [(_Getter(a.path), Glob(a.glob) if a.glob else None, search_regex(a.regex) if a.regex else None)
                     for a in (m.arguments or [])]
        self.path = m.path
        self.path_root = m.path.root if m.path and m.path.root else None
        self.path_at = [_Getter(p) for p in m.path.at] if m.path else []
        self.command = m.command
        self.command_at = [_Getter(p) for p in m.command.at] if m.command else []
        self.command_program = Glob(m.command.program) if m.command and m.command.program else None
        self.command_args = Glob(m.command.args) if m.command and m.command.args else None
        f = m.findings
        self.findings = None if f is None else (
            Glob(f.category) if f.category else None, Glob(f.rule) if f.rule else None,
            f.severity, Glob(f.detector) if f.detector else None)
        self.labels = frozenset(m.labels) if m.labels else None
        self.after = frozenset(m.after) if m.after else None
        self.from_ = Glob(m.from_) if m.from_ else None
        self.dynamic = m.dynamic

    # --- static half -----------------------------------------------------------------------

    def static_miss(self, f: Facts) -> str:
        """Why the rule cannot match these facts regardless of content; "" when it can."""
        if f.kind not in self.kinds:
            return f"applies to {'/'.join(sorted(self.kinds))} messages, not a {f.kind}"
        if self.directions is not None and f.direction not in self.directions:
            return f"direction is {f.direction}"
        if self.method is not None and not self.method(f.method):
            return f"method {f.method!r} is not {self.method.patterns}"
        if self.tool is not None and not self.tool(f.tool):
            return f"tool {f.tool!r} is not {self.tool.patterns}"
        if self.upstream is not None and not self.upstream(f.upstream):
            return f"upstream {f.upstream!r} is not {self.upstream.patterns}"
        if self.subject is not None and not self.subject(f.subject):
            return f"subject {f.subject!r} is not {self.subject.patterns}"
        if self.roles is not None and not any(self.roles(r) for r in f.roles):
            return f"roles {list(f.roles)} include none of {self.roles.patterns}"
        return ""

    # --- dynamic half ----------------------------------------------------------------------

    def dynamic_miss(self, f: Facts, redact: list[str] | None = None, *, explain: bool = True) -> str:
        """Why the content or history does not match; "" when it does (filling ``redact``).

        With ``explain=False`` (the hot path) a miss is just ``"-"``: no reason is formatted.
        """
        if self.labels is not None and not (self.labels & f.labels):
            return f"tool labels {sorted(f.labels)} include none of {sorted(self.labels)}" if explain else "-"
        if self.after is not None and not self.after <= _as_set(f.touched):
            return f"session has touched {sorted(f.touched)}, not all of {sorted(self.after)}" if explain else "-"
        if self.from_ is not None and not any(self.from_(t) for t in f.called):
            return f"no earlier call to {self.from_.patterns}" if explain else "-"
        if self.args:
            for getter, glob, regex in self.args:
                hit = _argument_hit(f.arguments, getter, glob, regex)
                if hit is None:
                    if not explain:
                        return "-"
                    what = f"glob {glob.patterns}" if glob else f"regex {regex.pattern!r}" if regex else "present"
                    return f"argument {getter.path} is not {what}"
                if redact is not None:
                    redact.append(hit)
        if self.path is not None:
            hit = self._path_hit(f.arguments)
            if hit is None:
                if not explain:
                    return "-"
                which = "inside" if self.path.inside is not None else "outside"
                return f"no path argument at {self.path.at} is {which} {self.path.inside or self.path.outside}"
            if redact is not None:
                redact.append(hit)
        if self.command is not None:
            hit = self._command_hit(f.arguments)
            if hit is None:
                return f"no command argument at {self.command.at} matches" if explain else "-"
            if redact is not None:
                redact.append(hit)
        if self.findings is not None:
            hits = [x for x in f.findings if self.finding_hit(x)] if f.findings else []
            if not hits:
                return "no finding of that kind"
            if redact is not None:
                redact.extend(x.path for x in hits if x.path)
        return ""

    def finding_hit(self, x: Finding) -> bool:
        assert self.findings is not None
        cat, rule, sev, det = self.findings
        return ((cat is None or cat(x.category)) and (rule is None or rule(x.rule))
                and (sev is None or x.severity >= sev) and (det is None or det(x.detector)))

    def _path_hit(self, arguments: Any) -> str | None:
        assert self.path is not None
        root = self.path_root  # the working directory is asked for only when a path is there
        for at in self.path_at:
            for where, value in at.values(arguments):
                for text in (value if isinstance(value, list) else [value]):
                    if not isinstance(text, str):
                        continue
                    if root is None:
                        root = os.getcwd()
                    if self.path.inside is not None and paths.inside_any(text, self.path.inside, root):
                        return where
                    if self.path.outside is not None and paths.outside_all(text, self.path.outside, root):
                        return where
        return None

    def _command_hit(self, arguments: Any) -> str | None:
        assert self.command is not None
        c = self.command
        program, args = self.command_program, self.command_args
        for at in self.command_at:
            for where, value in at.values(arguments):
                parsed = commands.parse(value)
                if not parsed.commands and not parsed.unparseable:
                    continue
                ok = True
                if parsed.unparseable:
                    return where
                if program is not None:
                    ok = any(program(p) for p in parsed.programs)
                if ok and args is not None:
                    ok = any(args(a) for cmd in parsed.commands for a in cmd[1:])
                if ok and c.shell_operators is not None:
                    ok = parsed.operators == c.shell_operators
                if ok:
                    return where
        return None


class _Getter:
    """A JSON path into the arguments, parsed once: yields (message path, value).

    ``*`` yields every string value anywhere in the arguments.
    """

    __slots__ = ("path", "steps", "where")

    def __init__(self, path: str) -> None:
        self.path = path
        self.steps = None if path == "*" else jsonpath.parse(path)[0]
        self.where = "$.params.arguments" + path[1:]

    def values(self, arguments: Any) -> Iterable[tuple[str, Any]]:
        if self.steps is None:
            return self._every_string(arguments)
        # One path, at most one value: a tuple, cheaper than a generator on the hot path.
        cur = arguments
        for step in self.steps:
            if isinstance(step, str):
                if not isinstance(cur, dict) or step not in cur:
                    return ()
            elif not isinstance(cur, list) or step >= len(cur):
                return ()
            cur = cur[step]
        return ((self.where, cur),)

    @staticmethod
    def _every_string(arguments: Any) -> Iterator[tuple[str, Any]]:
        if isinstance(arguments, (dict, list)):
            for p, text in jsonpath.strings(arguments):
                if not p.endswith("#key"):
                    yield "$.params.arguments" + p[1:], text


def _as_set(items: Any) -> frozenset[str] | set[str]:
    return items if isinstance(items, (set, frozenset)) else set(items)


def _strings(value: Any) -> Iterator[str]:
    """Every string value (not key) in a JSON value, without building paths: the hot path."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def _argument_hit(arguments: Any, getter: _Getter, glob: Glob | None, regex: re.Pattern[str] | None) -> str | None:
    if getter.steps is None and (glob is not None or regex is not None):
        for text in _strings(arguments):
            if (glob is not None and glob(text)) or (regex is not None and regex.search(text)):
                # Only a hit pays for finding its path (for redaction and the audit).
                return next((w for w, t in getter.values(arguments) if t is text), "$.params.arguments")
        return None
    for where, value in getter.values(arguments):
        if glob is None and regex is None:
            return where
        if not isinstance(value, str):
            if isinstance(value, (int, float, bool)):
                value = str(value).lower() if isinstance(value, bool) else str(value)
            else:
                continue
        if (glob is not None and glob(value)) or (regex is not None and regex.search(value)):
            return where
    return None


class Layer:
    """One config file's rules, compiled. First match wins, then ``default``."""

    def __init__(self, settings: PolicySettings, source: str = "") -> None:
        self.settings = settings
        self.source = source
        self.default = settings.default
        self.rules = [CompiledRule(r, i) for i, r in enumerate(settings.rules)]
        self._static: dict[tuple[Any, ...], tuple[CompiledRule, ...]] = {}

    def candidates(self, f: Facts) -> tuple[CompiledRule, ...]:
        key = (f.kind, f.direction, f.method, f.tool, f.upstream, f.subject, f.roles)
        hit = self._static.get(key)
        if hit is None:
            if len(self._static) > 4096:
                self._static.clear()
            hit = self._static[key] = tuple(r for r in self.rules if not r.static_miss(f))
        return hit

    def decide(self, f: Facts) -> Ruling:
        for rule in self.candidates(f):
            if not rule.dynamic:
                return Ruling(rule.rule.action, rule.rule, self.source)
            redact: list[str] = []
            if not rule.dynamic_miss(f, redact, explain=False):
                return Ruling(rule.rule.action, rule.rule, self.source, redact=redact)
        return Ruling(self.default, None, self.source)

    def explain(self, f: Facts) -> tuple[Ruling, list[tuple[str, str]]]:
        """The ruling and, for each rule in order, why it did or did not match."""
        steps: list[tuple[str, str]] = []
        for rule in self.rules:
            why = rule.static_miss(f) or rule.dynamic_miss(f)
            if why:
                steps.append((rule.rule.name, f"no: {why}"))
                continue
            steps.append((rule.rule.name, f"MATCH -> {rule.rule.action}"))
            redact: list[str] = []
            rule.dynamic_miss(f, redact)
            return Ruling(rule.rule.action, rule.rule, self.source, redact=redact), steps
        steps.append(("default", f"no rule matched -> {self.default}"))
        return Ruling(self.default, None, self.source), steps

    def may_allow_tool(self, f: Facts) -> Rule | None:
        """For tools/list: the rule that denies every call of this tool, or None if some call may pass.

        A rule with content conditions might not match a given call, so only an
        unconditional deny (or a deny default) hides a tool.
        """
        for rule in self.candidates(f):
            if rule.dynamic:
                if rule.rule.action is not Action.DENY:
                    return None
                continue
            return rule.rule if rule.rule.action is Action.DENY else None
        if self.default is Action.DENY:
            return Rule(name="default", action=Action.DENY)
        return None


class Policy:
    """The layers (base first), labels, budgets and external decision points, composed."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers
        self.top = layers[-1].settings
        self.labeller = Labeller([lr for layer in layers for lr in layer.settings.labels],
                                 classify_tools=all(layer.settings.classify for layer in layers))
        self.budgets: list[tuple[Budget, Glob | None, Glob | None, Glob | None]] = [
            (b, Glob(b.tool) if b.tool else None, Glob(b.upstream) if b.upstream else None,
             Glob(b.method) if b.method else None)
            for layer in layers for b in layer.settings.budgets
        ]
        self.uses_labels = any(r.labels is not None or r.after is not None for layer in layers for r in layer.rules)
        self.uses_history = self.uses_labels or any(r.from_ is not None for layer in layers for r in layer.rules)
        self.inspects_responses = bool(self.budgets) or any(
            "response" in r.kinds for layer in layers for r in layer.rules)
        self.files = [Path(layer.source) for layer in layers if layer.source and Path(layer.source).exists()]
        self._budgets: dict[tuple[str | None, str, str | None], tuple[int, str, str] | None] = {}
        self._default = max((layer.default for layer in layers), key=lambda a: a.strictness)
        self._default_only: dict[tuple[Any, ...], bool] = {}

    @property
    def default(self) -> Action:
        return self._default

    def default_only(self, kind: str, direction: str, method: str | None, tool: str | None, upstream: str,
                     subject: str, roles: tuple[str, ...]) -> bool:
        """True when no rule of any layer can match such a message, whatever it holds or
        whatever the session did before: the ruling is the default. A dict lookup after
        the first message of each kind."""
        key = (kind, direction, method, tool, upstream, subject, roles)
        hit = self._default_only.get(key)
        if hit is None:
            f = Facts(method=method, tool=tool, direction=direction, kind=kind, upstream=upstream, subject=subject,
                      roles=roles)
            hit = all(not layer.candidates(f) for layer in self.layers)
            if len(self._default_only) > 4096:  # names come from the peers: keep it bounded
                self._default_only.clear()
            self._default_only[key] = hit
        return hit

    def decide(self, f: Facts) -> Ruling:
        best: Ruling | None = None
        for layer in self.layers:
            r = layer.decide(f)
            if best is None or r.action.strictness > best.action.strictness:
                best = r
            elif r.action is best.action and r.redact:
                best.redact.extend(r.redact)
        assert best is not None
        return best

    def hides_tool(self, f: Facts) -> Rule | None:
        for layer in self.layers:
            rule = layer.may_allow_tool(f)
            if rule is not None:
                return rule
        return None

    def budget(self, tool: str | None, upstream: str, method: str | None) -> tuple[int, str, str] | None:
        """(max bytes, action, name) of the tightest budget for a response, across layers."""
        if not self.budgets:
            return None
        key = (tool, upstream, method)
        try:
            return self._budgets[key]
        except KeyError:
            pass
        if len(self._budgets) > 4096:  # tool names come from the peers: keep it bounded
            self._budgets.clear()
        found = self._budgets[key] = self._budget(tool, upstream, method)
        return found

    def _budget(self, tool: str | None, upstream: str, method: str | None) -> tuple[int, str, str] | None:
        order = {"warn": 0, "truncate": 1, "block": 2}
        best: tuple[int, str, str] | None = None
        for b, tg, ug, mg in self.budgets:
            if tg is not None and not tg(tool):
                continue
            if ug is not None and not ug(upstream):
                continue
            if mg is not None and not mg(method):
                continue
            if tg is None and mg is None and method != "tools/call":
                continue  # an upstream-wide budget is about tool results
            cand = (b.max_response_bytes, b.action, b.name or f"budget:{','.join(b.tool or ['*'])}")
            if best is None:
                best = cand
            else:
                best = (min(best[0], cand[0]), max(best[1], cand[1], key=order.__getitem__),
                        best[2] if best[0] <= cand[0] else cand[2])
        return best


# --- loading and composing --------------------------------------------------------------


def _policy_section(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must hold a mapping")
    section = data.get("policy", data) if "policy" in data else data
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: policy must be a mapping")
    return section


def validate_policy(section: dict[str, Any], where: str) -> PolicySettings:
    try:
        return PolicySettings.model_validate(section)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            path = ".".join(str(p) for p in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append((f"policy.{path}", msg))
        raise ConfigError(f"invalid policy in {where}:", problems) from None


def read_base(path: Path, sha256: str) -> tuple[PolicySettings, bytes]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"policy base {path} cannot be read: {e.strerror or e}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest.lower() != sha256.lower():
        raise ConfigError(f"policy base {path} has sha256 {digest}, but extends expects {sha256}; "
                          "refusing a base that changed (update the sha256 after reviewing it)")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"policy base {path} is not valid YAML: {e}") from None
    return validate_policy(_policy_section(data or {}, str(path)), str(path)), raw


def compile_policy(settings: PolicySettings, source: Path | None = None) -> Policy:
    """Compile a policy and the chain of bases it extends (base first)."""
    layers: list[Layer] = [Layer(settings, str(source) if source else "")]
    seen: set[Path] = {source.resolve()} if source else set()
    current, current_dir = settings, (source.parent if source else Path.cwd())
    while current.extends is not None:
        path = current.extends.path.expanduser()
        if not path.is_absolute():
            path = current_dir / path
        path = path.resolve()
        if path in seen or len(layers) > 8:
            raise ConfigError(f"policy extends {path} in a cycle (or deeper than 8 levels)")
        seen.add(path)
        base, _ = read_base(path, current.extends.sha256)
        layers.insert(0, Layer(base, str(path)))
        current, current_dir = base, path.parent
    return Policy(layers)

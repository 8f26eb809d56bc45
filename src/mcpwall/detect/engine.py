"""The multi-pattern matching engine behind every pattern-based detector.

Rule packs are YAML data (``detect/packs/*.yaml`` plus any the user adds). Matching runs in
three steps, so that it stays linear in the size of the input whatever the input is:

1. **Candidates.** Every pattern of every pack is compiled into one Hyperscan database and
   all texts of a message are scanned together in one pass. Hyperscan reports the end
   offset of each match; it never backtracks.
2. **Confirmation.** For each rule that fired, the reported ends are widened into windows
   of the rule's maximum match length (computed from the pattern: every quantifier must be
   bounded), overlapping windows are merged, and the same pattern runs again with RE2 (also
   linear) over each window to recover the match and its capture group.
3. **Validation.** Precise checks from :mod:`mcpwall.detect.validators` (checksums, entropy,
   placeholders, documented example keys, context words) accept or reject each match.

When Hyperscan cannot be loaded the engine runs each rule's pattern with RE2 over each text
instead (stdlib ``re`` if RE2 is missing too): slower, with the same findings.

The compiled database is cached under the user's cache directory, keyed by a hash of the
patterns, their flags and the Hyperscan version, so a restart does not pay the compile.
Hyperscan and RE2 release the GIL, so a large message can be scanned in a worker thread;
each thread gets its own Hyperscan scratch space.
"""

from __future__ import annotations

import bisect
import dataclasses
import fnmatch
import functools
import hashlib
import importlib
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..verdict import Severity
from . import validators

log = logging.getLogger(__name__)

# The threat classes findings are reported under, in the order reports list them.
CATEGORY_ORDER = (
    "prompt_injection",
    "tool_poisoning",
    "hidden_unicode",
    "secrets",
    "pii",
    "command_injection",
    "path_traversal",
    "exfiltration",
)
CATEGORIES = frozenset(CATEGORY_ORDER)
ROLES = frozenset({"tool_description", "request", "response"})
# Between texts scanned together: breaks every pattern (no rule matches NUL or spans lines
# through it), so a match never joins the end of one field to the start of the next.
SEPARATOR = b"\n\x00\n"
DEFAULT_MAX_PER_RULE = 32
# Bytes of surroundings decoded for validators of a match in non-ASCII text.
_CONTEXT_BYTES = 256
_SHAPE_CHECKS = frozenset({"entropy", "mixed", "has_digit", "github_crc32", "not_identifier"})
# A rule's match may not be longer than this: windows stay small and confirmation cheap.
MAX_MATCH_LEN = 4096



def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception:  # pragma: no cover - exercised only where the wheel is missing
        return None


_hs: Any = _optional("hyperscan")  # the fast path
_re2: Any = _optional("re2")


class PackError(ValueError):
    """A rule pack that cannot be loaded; the message names the pack and the rule."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern with its metadata and checks.

    ``pattern`` is written in the dialect common to Hyperscan and RE2 (no look-around, no
    back-references, bounded repeats). ``group`` names the capture group whose text is
    validated and reported; without it the whole match is. ``checks`` are
    ``(validator name, argument)`` pairs run in order. ``masked`` says what to do with a
    value that is mostly ``x``/``*`` masking: ``"low"`` reports it at low severity,
    ``"reject"`` drops it. ``roles`` restricts the rule to texts of those roles.
    ``keywords`` (lower case) let the fallback skip texts that cannot match; at least one
    of them must occur in every match. ``prefilter``, when set, is what Hyperscan looks for
    instead of ``pattern``: a cheaper pattern that every match of ``pattern`` contains
    (``@[a-z]`` for an email address); the full pattern then runs around each hit.
    """

    id: str
    category: str
    severity: Severity
    pattern: str
    title: str = ""
    remediation: str = ""
    caseless: bool = False
    dotall: bool = False
    utf8: bool = False
    group: str | None = None
    checks: tuple[tuple[str, Any], ...] = ()
    masked: str = "reject"
    roles: frozenset[str] | None = None
    keywords: tuple[str, ...] = ()
    pack: str = ""
    max_len: int = 0
    prefilter: str | None = None

    def re2_source(self) -> str:
        flags = ("i" if self.caseless else "") + ("s" if self.dotall else "")
        return f"(?{flags}){self.pattern}" if flags else self.pattern

    def hs_source(self) -> bytes:
        # Hyperscan accepts groups but not their names.
        src = self.prefilter if self.prefilter is not None else self.pattern
        return re.sub(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>", "(?:", src).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Match:
    """A confirmed, validated match: ``span`` of ``value`` in the scanned text.

    ``capped`` is set on a rule's last match when the rule reached its per-message cap:
    further matches of that rule were not looked for, let alone reported one by one.
    """

    rule: Rule
    start: int
    end: int
    value: str
    masked: bool = False
    capped: bool = False

    @property
    def severity(self) -> Severity:
        return Severity.LOW if self.masked else self.rule.severity


@dataclass(frozen=True, slots=True)
class Suppression:
    """Silence rules (glob on the id) for a server, a tool and/or a JSON path (globs).

    A field left empty matches everything; ``Suppression(rule="pii.email", tool="send_*")``
    keeps email findings out of the send tools.
    """

    rule: str = "*"
    server: str = "*"
    tool: str = "*"
    path: str = "*"

    def matches(self, rule_id: str, *, server: str | None, tool: str | None, path: str) -> bool:
        return (
            fnmatch.fnmatchcase(rule_id, self.rule)
            and (self.server == "*" or fnmatch.fnmatchcase(server or "", self.server))
            and (self.tool == "*" or fnmatch.fnmatchcase(tool or "", self.tool))
            and (self.path == "*" or _path_glob(self.path).fullmatch(path) is not None)
        )

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Suppression:
        unknown = set(data) - {"rule", "server", "tool", "path"}
        if unknown:
            raise PackError(f"suppression has unknown keys {sorted(unknown)}; use rule, server, tool, path")
        return cls(**{k: str(v) for k, v in data.items()})


@functools.lru_cache(maxsize=256)
def _path_glob(glob: str) -> re.Pattern[str]:
    """A JSON-path glob: ``*`` matches any run of characters, brackets are literal, so
    ``$.result.content[*].text`` means every content item."""
    return re.compile(".*".join(re.escape(part) for part in glob.split("*")), re.DOTALL)


# --- loading packs ---------------------------------------------------------------------


def builtin_pack_paths() -> list[Path]:
    root = resources.files("mcpwall.detect") / "packs"
    return sorted(Path(str(p)) for p in root.iterdir() if str(p).endswith((".yaml", ".yml")))


def _max_width(pattern: str, rule_id: str) -> int:
    """Longest possible match, from the stdlib parser; refuses unbounded quantifiers."""
    sre_parse: Any = importlib.import_module("re._parser")
    try:
        _lo, hi = sre_parse.parse(pattern).getwidth()
    except re.error as e:
        raise PackError(f"rule {rule_id}: invalid pattern: {e}") from None
    for m in re.finditer(r"\{(\d+)(?:,(\d*))?\}", pattern):
        if int(m.group(2) or m.group(1)) > 1000:
            raise PackError(f"rule {rule_id}: repetition {m.group(0)} exceeds 1000 (RE2's limit)")
    if hi > MAX_MATCH_LEN:
        raise PackError(
            f"rule {rule_id}: a match can be {'unbounded' if hi > 10**9 else hi} characters long; "
            f"bound every quantifier (e.g. {{1,64}} instead of + or *) to at most {MAX_MATCH_LEN} in total"
        )
    return int(hi)


def _parse_checks(raw: Any, rule_id: str) -> tuple[tuple[str, Any], ...]:
    out: list[tuple[str, Any]] = []
    for item in raw or ():
        if isinstance(item, str):
            name, arg = item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            name, arg = next(iter(item.items()))
        else:
            raise PackError(f"rule {rule_id}: each check is a name or a one-key mapping, not {item!r}")
        if name not in validators.REGISTRY:
            raise PackError(f"rule {rule_id}: unknown check {name!r}; known: {', '.join(sorted(validators.REGISTRY))}")
        out.append((str(name), arg))
    return tuple(out)


def parse_rule(data: Mapping[str, Any], pack: str) -> Rule:
    rid = str(data.get("id") or "")
    if not rid:
        raise PackError(f"pack {pack}: a rule has no id")
    missing = [k for k in ("category", "severity", "pattern") if k not in data]
    if missing:
        raise PackError(f"pack {pack}: rule {rid} lacks {', '.join(missing)}")
    known = {"id", "category", "severity", "pattern", "prefilter", "title", "remediation", "caseless", "dotall", "utf8",
             "group", "checks", "masked", "roles", "keywords", "examples"}
    unknown = set(data) - known
    if unknown:
        raise PackError(f"pack {pack}: rule {rid} has unknown keys {sorted(unknown)}")
    category = str(data["category"])
    if category not in CATEGORIES:
        raise PackError(f"pack {pack}: rule {rid} has category {category!r}; use one of {sorted(CATEGORIES)}")
    try:
        severity = Severity.parse(data["severity"])
    except ValueError as e:
        raise PackError(f"pack {pack}: rule {rid}: {e}") from None
    pattern = str(data["pattern"])
    roles = data.get("roles")
    if roles is not None:
        roles = frozenset(str(r) for r in roles)
        if not roles <= ROLES:
            raise PackError(f"pack {pack}: rule {rid} has roles {sorted(roles - ROLES)}; use {sorted(ROLES)}")
    masked = str(data.get("masked", "reject"))
    if masked not in {"low", "reject"}:
        raise PackError(f"pack {pack}: rule {rid}: masked must be low or reject")
    group = data.get("group")
    if group is not None and f"(?P<{group}>" not in pattern:
        raise PackError(f"pack {pack}: rule {rid}: pattern has no group named {group!r}")
    return Rule(
        id=rid,
        category=category,
        severity=severity,
        pattern=pattern,
        title=str(data.get("title", "")),
        remediation=str(data.get("remediation", "")),
        caseless=bool(data.get("caseless", False)),
        dotall=bool(data.get("dotall", False)),
        utf8=bool(data.get("utf8", False)) or not pattern.isascii(),
        group=str(group) if group is not None else None,
        checks=_parse_checks(data.get("checks"), rid),
        masked=masked,
        roles=roles,
        keywords=tuple(str(k).lower() for k in data.get("keywords") or ()),
        pack=pack,
        max_len=_max_width(pattern, rid),
        prefilter=str(data["prefilter"]) if data.get("prefilter") is not None else None,
    )


def load_pack(path: Path) -> list[Rule]:
    try:
        # libyaml when PyYAML has it: the built-in packs parse in ~30 ms instead of ~300 ms,
        # which every `mcpwall wrap` start pays.
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as e:
        raise PackError(f"cannot read rule pack {path}: {e}") from None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("rules"), list):
        raise PackError(f"rule pack {path}: expected a mapping with a 'rules' list")
    name = str(doc.get("pack") or path.stem)
    defaults = doc.get("defaults") or {}
    base_checks = list(doc.get("base_checks") or ())
    rules = []
    for r in doc["rules"]:
        if not isinstance(r, Mapping):
            raise PackError(f"rule pack {path}: each rule is a mapping, not {r!r}")
        merged = {**defaults, **r}
        if base_checks and not r.get("no_base_checks"):
            # The rule's own checks first: they are the cheap, specific ones.
            merged["checks"] = [*(r.get("checks") or ()), *base_checks]
        merged.pop("no_base_checks", None)
        rules.append(parse_rule(merged, name))
    return rules


# --- caching ---------------------------------------------------------------------------


def database_path(directory: Path, prefix: str, exprs: Sequence[bytes], flags: Sequence[int]) -> Path:
    """Where a compiled Hyperscan database is cached: keyed by everything that shapes it."""
    version = getattr(_hs, "__version__", "?")
    key = hashlib.sha256(
        json.dumps([version, sys.platform, [e.decode() for e in exprs], list(flags)]).encode()
    ).hexdigest()[:32]
    return directory / f"{prefix}-{key}.db"


def load_database(path: Path | None) -> Any:
    """A cached database with its scratch, or None (absent, stale or corrupt: recompile)."""
    if path is None or not path.exists():
        return None
    try:
        db = _hs.loadb(path.read_bytes(), _hs.HS_MODE_BLOCK)
        db.scratch = _hs.Scratch(db)
        return db
    except Exception as e:
        log.info("ignoring cached database %s: %s", path, e)
        return None


def store_database(db: Any, path: Path | None) -> None:
    """Cache a compiled database (written aside and renamed, so readers never see half)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(_hs.dumpb(db))
        os.replace(tmp, path)
    except OSError as e:
        log.info("cannot cache the database in %s: %s", path.parent, e)


def cache_dir() -> Path:
    """Per-user cache directory (``MCPWALL_CACHE_DIR`` overrides)."""
    env = os.environ.get("MCPWALL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else Path.home() / "AppData" / "Local") / "mcpwall" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "mcpwall"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "mcpwall"


def _hs_flags(rule: Rule) -> int:
    assert _hs is not None
    flags = 0
    if rule.caseless:
        flags |= _hs.HS_FLAG_CASELESS
    if rule.dotall:
        flags |= _hs.HS_FLAG_DOTALL
    if rule.utf8:
        flags |= _hs.HS_FLAG_UTF8 | _hs.HS_FLAG_UCP
    return flags


# --- the engine ------------------------------------------------------------------------


@dataclass
class Stats:
    """Work counters, for tests that assert linear work and for benchmarks."""

    bytes_scanned: int = 0
    candidates: int = 0
    window_chars: int = 0
    confirmed: int = 0

    def reset(self) -> None:
        self.bytes_scanned = self.candidates = self.window_chars = self.confirmed = 0


def _on_match(rule_index: int, _from: int, to: int, _flags: int, hits: list[tuple[int, int]]) -> None:
    hits.append((rule_index, to))


# Work allowed for confirming and validating the candidates of one message, in characters
# of confirmation windows plus a fixed price per validated match; proportional to the
# message, so ordinary input never comes near it. What is left when it runs out is
# reported as uninspected (never as clean).
WORK_PER_BYTE = 24
WORK_BASE = 1 << 20
VALIDATION_COST = 256


class _Work:
    """Per-message bookkeeping: findings per rule, verdicts per value, and the budget."""

    __slots__ = ("budget", "capped", "counts", "incomplete", "memo")

    def __init__(self, size: int) -> None:
        self.counts: dict[int, int] = {}
        self.memo: dict[tuple[int, str], bool] = {}
        self.capped: set[int] = set()
        self.budget = WORK_PER_BYTE * size + WORK_BASE
        # text index -> reason the text was not fully inspected
        self.incomplete: dict[int, str] = {}


@dataclass
class Engine:
    """All rules, compiled once. Build with :meth:`from_packs`; then call :meth:`scan_many`."""

    rules: list[Rule]
    backend: str = "auto"
    cache: Path | None = None
    max_per_rule: int = DEFAULT_MAX_PER_RULE
    suppressions: list[Suppression] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    compile_seconds: float = 0.0
    cache_hit: bool = False

    def __post_init__(self) -> None:
        ids = [r.id for r in self.rules]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise PackError(f"rule ids defined twice: {sorted(dupes)}")
        self._local = threading.local()
        self._regex: list[Any] = [self._compile_confirm(r) for r in self.rules]
        self._group_index: list[int] = [
            (_group_number(self._regex[i], r.group) if r.group else 0) for i, r in enumerate(self.rules)
        ]
        self._context_free: list[bool] = [
            not any(name in validators.CONTEXTUAL for name, _ in r.checks) for r in self.rules
        ]
        self._db: Any = None
        # name -> database of the rules' expressions followed by another detector's
        # (see :meth:`fuse`), so that one pass serves both
        self._fused: dict[str, Any] = {}
        want = self.backend
        if want in ("auto", "hyperscan") and _hs is not None and self.rules:
            try:
                self._db = self._load_database()
                self.backend = "hyperscan"
            except Exception as e:
                if want == "hyperscan":
                    raise
                log.warning("hyperscan unavailable (%s); matching rule by rule", e)
        if self._db is None:
            self.backend = "re2" if _re2 is not None else "re"

    # -- construction --

    @classmethod
    def from_packs(
        cls,
        paths: Iterable[str | Path] = (),
        *,
        builtin: bool = True,
        disabled: Iterable[str] = (),
        suppress: Iterable[Suppression | Mapping[str, Any]] = (),
        backend: str = "auto",
        cache: Path | bool | None = True,
        max_per_rule: int = DEFAULT_MAX_PER_RULE,
        categories: Iterable[str] | None = None,
    ) -> Engine:
        """Load the built-in packs (unless ``builtin=False``) and the packs at ``paths``
        (files or directories of ``*.yaml``), drop rules whose id matches a glob in
        ``disabled`` or whose category is not in ``categories``, and compile.

        ``cache=True`` uses :func:`cache_dir`; a path uses that directory; ``False``/``None``
        compiles every time.
        """
        files = builtin_pack_paths() if builtin else []
        for p in paths:
            p = Path(p).expanduser()
            if p.is_dir():
                files.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]))
            elif p.exists():
                files.append(p)
            else:
                raise PackError(f"rule pack {p} does not exist")
        rules: list[Rule] = []
        for f in files:
            rules.extend(load_pack(f))
        # A later pack may redefine a built-in rule: the user's version wins.
        by_id: dict[str, Rule] = {}
        for r in rules:
            by_id[r.id] = r
        off = list(disabled)
        cats = set(categories) if categories is not None else None
        kept = [
            r
            for r in by_id.values()
            if not any(fnmatch.fnmatchcase(r.id, d) for d in off) and (cats is None or r.category in cats)
        ]
        sup = [s if isinstance(s, Suppression) else Suppression.parse(s) for s in suppress]
        cache_path = cache_dir() if cache is True else (cache or None)
        return cls(kept, backend=backend, cache=cache_path, max_per_rule=max_per_rule, suppressions=sup)

    def _compile_confirm(self, rule: Rule) -> Any:
        # Patterns run over UTF-8 bytes: RE2's wrapper converts str offsets by walking the
        # text from its start on every call, which would make windowed matching quadratic.
        src = rule.re2_source().encode("utf-8")
        if _re2 is not None:
            opts = _re2.Options()
            opts.log_errors = False
            try:
                return _re2.compile(src, opts)
            except Exception as e:
                raise PackError(f"rule {rule.id}: RE2 rejects the pattern: {e}") from None
        return re.compile(src)

    def _load_database(self) -> Any:
        import time

        assert _hs is not None
        exprs = [r.hs_source() for r in self.rules]
        flags = [_hs_flags(r) for r in self.rules]
        path = database_path(self.cache, "hs", exprs, flags) if self.cache else None
        t0 = time.perf_counter()
        cached = load_database(path)
        if cached is not None:
            self.compile_seconds = time.perf_counter() - t0
            self.cache_hit = True
            return cached
        db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        try:
            db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=flags)
        except Exception:
            # Find the culprit so the message names the rule.
            for r, expr, f in zip(self.rules, exprs, flags, strict=True):
                probe = _hs.Database(mode=_hs.HS_MODE_BLOCK)
                try:
                    probe.compile(expressions=[expr], ids=[0], flags=[f])
                except Exception as err:
                    raise PackError(f"rule {r.id}: Hyperscan rejects the pattern: {err}") from None
            raise
        self.compile_seconds = time.perf_counter() - t0
        store_database(db, path)
        return db

    def _scratch(self) -> Any:
        s = getattr(self._local, "scratch", None)
        if s is None:
            s = self._db.scratch.clone()
            self._local.scratch = s
        return s

    def fuse(self, name: str, exprs: Sequence[tuple[bytes, int]]) -> bool:
        """Compile (or load from the cache) a database holding the rules' expressions and
        then ``exprs`` (expression, Hyperscan flags), so that :meth:`scan_many` with
        ``extra=name`` reports both in one pass over the message instead of two. Their
        reports go to ``extra_hits`` with ids counted from 0. False (and nothing fused)
        without the Hyperscan backend or when the compile fails."""
        if self._db is None or _hs is None:
            return False
        if name in self._fused:
            return True
        own = [r.hs_source() for r in self.rules]
        all_exprs = [*own, *(e for e, _ in exprs)]
        flags = [*(_hs_flags(r) for r in self.rules), *(f for _, f in exprs)]
        path = database_path(self.cache, f"hs-{name}", all_exprs, flags) if self.cache else None
        db = load_database(path)
        if db is None:
            try:
                db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
                db.compile(expressions=all_exprs, ids=list(range(len(all_exprs))), flags=flags)
                db.scratch = _hs.Scratch(db)
            except Exception as e:
                log.warning("cannot compile the fused %s database (%s); scanning separately", name, e)
                return False
            store_database(db, path)
        self._fused[name] = db
        return True

    def _fused_scratch(self, name: str) -> Any:
        scratches: dict[str, Any] | None = getattr(self._local, "fused", None)
        if scratches is None:
            scratches = self._local.fused = {}
        s = scratches.get(name)
        if s is None:
            s = scratches[name] = self._fused[name].scratch.clone()
        return s

    # -- queries --

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def is_suppressed(self, rule_id: str, *, server: str | None = None, tool: str | None = None, path: str = "$") -> bool:
        return any(s.matches(rule_id, server=server, tool=tool, path=path) for s in self.suppressions)

    # -- scanning --

    def scan(self, text: str, role: str | None = None) -> list[Match]:
        return self.scan_many([text], [role])[0]

    def scan_many(
        self,
        texts: Sequence[str],
        roles: Sequence[str | None] | None = None,
        incomplete: dict[int, str] | None = None,
        extra: str | None = None,
        extra_hits: list[list[tuple[int, int]] | None] | None = None,
    ) -> list[list[Match]]:
        """Scan the texts of one message; findings per text, each list in text order.

        The per-rule cap and the work budget apply to the whole call (one message). Texts
        whose candidates could not all be confirmed within the budget are added to
        ``incomplete`` (text index -> reason) when given.

        With ``extra`` (a name given to :meth:`fuse`) the pass uses that fused database
        and fills ``extra_hits`` (one entry per text) with the (expression id, byte end
        in the text's UTF-8) reports of the fused expressions; an entry is None when the
        text could not be encoded as it is (lone surrogates), so its reports would not
        map onto it. Without the fused database ``extra_hits`` is left empty.
        """
        if roles is None:
            roles = [None] * len(texts)
        out: list[list[Match]] = [[] for _ in texts]
        if not texts or not self.rules:
            return out
        work = _Work(sum(len(t) for t in texts))
        if self._db is not None:
            fused = extra is not None and extra_hits is not None and extra in self._fused
            self._scan_hyperscan(texts, roles, out, work, extra if fused else None, extra_hits)
        else:
            self._scan_fallback(texts, roles, out, work)
        for ri in work.capped:
            # the rule's last reported match says that more were not looked for
            for lst in out:
                for j in range(len(lst) - 1, -1, -1):
                    if lst[j].rule is self.rules[ri]:
                        lst[j] = dataclasses.replace(lst[j], capped=True)
                        break
        for lst in out:
            lst.sort(key=lambda m: (m.start, m.end, m.rule.id))
        if incomplete is not None:
            incomplete.update(work.incomplete)
        return out

    def _scan_hyperscan(
        self,
        texts: Sequence[str],
        roles: Sequence[str | None],
        out: list[list[Match]],
        work: _Work,
        extra: str | None = None,
        extra_hits: list[list[tuple[int, int]] | None] | None = None,
    ) -> None:
        encoded: list[bytes] = []
        unencodable: list[int] = []
        for k, t in enumerate(texts):
            try:
                encoded.append(t.encode("utf-8"))
            except UnicodeEncodeError:  # lone surrogates (the stdlib JSON decoder lets them through)
                encoded.append(t.encode("utf-8", "replace"))
                unencodable.append(k)
        buf = SEPARATOR.join(encoded)
        hits: list[tuple[int, int]] = []
        self.stats.bytes_scanned += len(buf)
        if extra is not None and extra_hits is not None:
            nrules = len(self.rules)
            others: list[tuple[int, int]] = []

            def on_match(rule_index: int, _from: int, to: int, _flags: int, _ctx: Any) -> None:
                if rule_index < nrules:
                    hits.append((rule_index, to))
                else:
                    others.append((rule_index - nrules, to))

            self._fused[extra].scan(buf, match_event_handler=on_match, scratch=self._fused_scratch(extra))
            _split_extra(others, encoded, unencodable, extra_hits)
        else:
            self._db.scan(buf, match_event_handler=_on_match, context=hits, scratch=self._scratch())
        if not hits:
            return
        self.stats.candidates += len(hits)
        starts: list[int] = []
        pos = 0
        for b in encoded:
            starts.append(pos)
            pos += len(b) + len(SEPARATOR)
        # (text index, rule index) -> byte ends within that text
        grouped: dict[tuple[int, int], list[int]] = {}
        single = len(encoded) == 1
        for rule_index, end in hits:
            k = 0 if single else bisect.bisect_right(starts, end) - 1
            local = end - starts[k]
            if local > len(encoded[k]):
                local = len(encoded[k])  # a terminator matched the separator
            key = (k, rule_index)
            lst = grouped.get(key)
            if lst is None:
                grouped[key] = [local]
            else:
                lst.append(local)
        for (k, ri), ends in sorted(grouped.items()):
            rule = self.rules[ri]
            role = roles[k]
            if rule.roles is not None and role is not None and role not in rule.roles:
                continue
            if k in work.incomplete:
                continue
            self._confirm_windows(ri, _Text(texts[k], encoded[k]), k, sorted(set(ends)), out, work)

    def _confirm_windows(
        self,
        ri: int,
        t: _Text,
        k: int,
        ends: list[int],
        out: list[list[Match]],
        work: _Work,
    ) -> None:
        rule = self.rules[ri]
        raw = t.raw
        n = len(raw)
        # Windows are in bytes: up to 4 per character outside ASCII.
        width = rule.max_len if t.ascii else 4 * rule.max_len
        # A hit is the end of a full match, or with a prefilter a point inside one: the
        # match then lies within max_len on either side.
        ahead = width + 1 if rule.prefilter is not None else 0
        regions: list[list[int]] = []
        for e in ends:
            s = max(0, e - width)
            end = min(n, e + ahead)
            if regions and s <= regions[-1][1]:
                regions[-1][1] = max(regions[-1][1], end)
            else:
                regions.append([s, end])
        seen: set[tuple[int, int]] = set()
        rx = self._regex[ri]
        for s, e in regions:
            self.stats.window_chars += e - s
            work.budget -= e - s
            if work.budget < 0:
                work.incomplete[k] = f"work budget for the message exhausted while confirming {rule.id}"
                return
            for m in rx.finditer(raw, s, e):
                if m.end() == m.start():
                    continue
                if ahead and m.end() == e and e < n:
                    continue  # cut short by the window; no match containing a hit ends here
                if not self._accept(ri, t, k, m, out, work, seen):
                    return

    def _accept(
        self,
        ri: int,
        t: _Text,
        k: int,
        m: Any,
        out: list[list[Match]],
        work: _Work,
        seen: set[tuple[int, int]],
    ) -> bool:
        """Validate one regex match; False once the rule's cap for the message is reached
        or the message's work budget is spent."""
        rule = self.rules[ri]
        gi = self._group_index[ri]
        bs, be = (m.start(gi), m.end(gi)) if gi else (m.start(), m.end())
        if bs < 0 or (bs, be) in seen:
            return True
        seen.add((bs, be))
        key: tuple[int, str] | None = None
        if self._context_free[ri]:
            key = (ri, t.raw[bs:be].decode("utf-8", "replace") if not t.ascii else t.text[bs:be])
            verdict = work.memo.get(key)
            if verdict is False:
                return True  # the same value was rejected elsewhere in this message
            if verdict is None:
                work.budget -= VALIDATION_COST
        else:
            work.budget -= VALIDATION_COST
        if work.budget < 0:
            work.incomplete[k] = f"work budget for the message exhausted while validating {rule.id}"
            return False
        if t.ascii:
            start, end = bs, be
            value = t.text[start:end]
            ctx = validators.Context(t.text, start, end)
        else:
            # Validators look at a bounded neighbourhood, decoded locally.
            raw = t.raw
            ws, we = max(0, bs - _CONTEXT_BYTES), min(len(raw), be + _CONTEXT_BYTES)
            value = raw[bs:be].decode("utf-8", "replace")
            local_start = len(raw[ws:bs].decode("utf-8", "ignore"))
            local = raw[ws:we].decode("utf-8", "ignore")
            ctx = validators.Context(local, local_start, local_start + len(value))
            start = end = -1
        masked = validators.is_masked(value)
        if masked and rule.masked == "reject":
            if key is not None:
                work.memo[key] = False
            return True
        if key is None or key not in work.memo:
            for name, arg in rule.checks:
                # A masked body has no entropy or checksum left to check; its shape and
                # surroundings still must fit.
                if masked and name in _SHAPE_CHECKS:
                    continue
                if not validators.run(name, value, ctx, arg):
                    if key is not None:
                        work.memo[key] = False
                    return True
            if key is not None:
                work.memo[key] = True
        n = work.counts.get(ri, 0)
        if n >= self.max_per_rule:
            work.capped.add(ri)
            return False
        work.counts[ri] = n + 1
        if start < 0:
            start = len(t.raw[:bs].decode("utf-8", "ignore"))
            end = start + len(value)
        self.stats.confirmed += 1
        out[k].append(Match(rule, start, end, value, masked))
        return True

    def _scan_fallback(
        self,
        texts: Sequence[str],
        roles: Sequence[str | None],
        out: list[list[Match]],
        work: _Work,
    ) -> None:
        for k, text in enumerate(texts):
            t = _Text(text, text.encode("utf-8", "replace"))
            self.stats.bytes_scanned += len(t.raw)
            lower = text.lower() if any(r.keywords for r in self.rules) else text
            for ri, rule in enumerate(self.rules):
                if rule.roles is not None and roles[k] is not None and roles[k] not in rule.roles:
                    continue
                if rule.keywords and not any(kw in lower for kw in rule.keywords):
                    continue
                if work.counts.get(ri, 0) >= self.max_per_rule or k in work.incomplete:
                    continue
                seen: set[tuple[int, int]] = set()
                for m in self._regex[ri].finditer(t.raw):
                    if m.end() == m.start():
                        continue
                    self.stats.candidates += 1
                    if not self._accept(ri, t, k, m, out, work, seen):
                        break


def _split_extra(others: list[tuple[int, int]], encoded: Sequence[bytes], unencodable: Sequence[int],
                 extra_hits: list[list[tuple[int, int]] | None]) -> None:
    """Reports of the fused expressions, (id, end in the joined buffer), sorted into
    ``extra_hits`` per text with ends in the text's bytes (a report of an expression
    that matched into the separator ends at the text's end)."""
    if len(encoded) == 1:
        lim = len(encoded[0])
        extra_hits[:] = [None if unencodable else [(i, e if e <= lim else lim) for i, e in others]]
        return
    out: list[list[tuple[int, int]] | None] = [[] for _ in encoded]
    starts: list[int] = []
    pos = 0
    for b in encoded:
        starts.append(pos)
        pos += len(b) + len(SEPARATOR)
    for i, end in others:
        k = bisect.bisect_right(starts, end) - 1
        lst = out[k]
        if lst is not None:
            local = end - starts[k]
            lim = len(encoded[k])
            lst.append((i, local if local <= lim else lim))
    for k in unencodable:
        out[k] = None
    extra_hits[:] = out


def _group_number(rx: Any, name: str) -> int:
    index = rx.groupindex
    return int(index[name] if name in index else index[name.encode()])


class _Text:
    """A text with its UTF-8 bytes; ``ascii`` when offsets agree in both."""

    __slots__ = ("ascii", "raw", "text")

    def __init__(self, text: str, raw: bytes) -> None:
        self.text = text
        self.raw = raw
        self.ascii = len(raw) == len(text)

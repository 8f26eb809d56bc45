"""The detection facade: one ``Scanner``, built once, scans messages and texts.

For a message, :mod:`~mcpwall.detect.fields` yields every model-visible string with its
path and role. Then, per message:

- texts that are plain ASCII without encoding markers skip normalisation entirely (the
  common case); the others get their normalised and decoded views from
  :func:`mcpwall.detect.normalize.variants`, and their hidden characters reported by
  :func:`~mcpwall.detect.normalize.hidden_unicode`;
- all texts and views of the message go through the pattern engine in **one** Hyperscan
  pass (the decoded strings, so JSON escapes such as ``\\u0041`` are already resolved
  and spans are offsets in the field's own text);
- the prompt-injection and tool-poisoning detector
  (:func:`mcpwall.detect.injection.detect`) looks at each text with its views.

Findings carry the field's JSON path and the character span in the field's text (for a
match found in a decoded view, the span covers the whole field and ``extra["layer"]`` names
the view). Findings never contain the matched secret itself, only a short masked preview.
Whole messages are scanned; nothing is sampled or cut.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..frame import Direction
from ..verdict import Finding
from . import fields as fieldmod
from .engine import DEFAULT_MAX_PER_RULE, Engine, Match

log = logging.getLogger(__name__)

DETECTOR = "patterns"
# Markers of text that some decoding could change: escapes, entities, percent-encoding,
# terminal escapes, and runs long enough to be base64 or hex.
try:  # RE2 scans for runs in linear time; stdlib re retries at every position of a run
    import re2 as _re2

    _ESCAPE_HINT: Any = _re2.compile(r"[%&\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|<~|[01]{8} ?[01]{8} ?[01]{8}")

    _RUN: Any = _re2.compile(rb"[A-Za-z0-9+/=_-]{16,}")
except ImportError:  # pragma: no cover
    _ESCAPE_HINT = re.compile(r"[%&\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|<~|[01]{8} ?[01]{8} ?[01]{8}")
    _RUN = re.compile(rb"[A-Za-z0-9+/=_-]{16,}")
_BASE32 = re.compile(rb"[A-Z2-7]+=*")
_INJECTION_MIN_CHARS = 8
# Anything but printable ASCII and ordinary whitespace: candidates for hidden characters.
_UNUSUAL_CHAR = re.compile(r"[^\t\n\r\x20-\x7e]")
_ORDINARY_ASCII = bytes([9, 10, 13, *range(0x20, 0x7F)])


def _has_unusual(text: str) -> bool:
    """``_UNUSUAL_CHAR.search(text)``; for ASCII text a C-level delete of the ordinary
    characters, several times faster than the regex walk."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _ORDINARY_ASCII))
    return _UNUSUAL_CHAR.search(text) is not None


@dataclass(slots=True)
class ScanResult:
    """Findings for one message, and the paths that could not be inspected."""

    findings: list[Finding] = field(default_factory=list)
    uninspected: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    # True when the frame prefilter proved the message clean from its wire bytes (no
    # field was extracted; see mcpwall.detect.prefilter)
    prefiltered: bool = False

    @property
    def clean(self) -> bool:
        return not self.findings and not self.uninspected


# The result of every frame the prefilter proves clean (one object: nothing to allocate).
PREFILTERED = ScanResult(prefiltered=True)


def _preview(value: str) -> str:
    """Enough of a matched value to recognise it, never enough to use it."""
    if len(value) <= 8:
        return "*" * len(value)
    keep = 4 if len(value) >= 16 else 2
    return f"{value[:keep]}…{value[-2:]} ({len(value)} chars)"


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        log.warning("detector module %s unavailable: %s", module, e)
        return None


# Texts at least twice this long get their decoded views block by block.
VIEW_BLOCK_CHARS = 16 * 1024
# Between the blocks of a view: no pattern matches across a NUL line.
VIEW_JOIN = "\n\x00\n"


def _view(text: str, layer: str) -> Any:
    from .normalize import Variant

    return Variant(text, layer)


class _EscapeHint:
    """``_ESCAPE_HINT.search`` in Hyperscan, several times faster than RE2 on plain text
    (built on first use; None answers mean Hyperscan is not there). The run
    classification stays in Python: as Hyperscan expressions (maximal runs, minimum
    lengths) it cost more than it saved."""

    def __init__(self) -> None:
        self._db: Any = None
        self._failed = False
        self._local = threading.local()
        self._lock = threading.Lock()

    def _database(self) -> Any:
        with self._lock:
            if self._db is None and not self._failed:
                try:
                    import hyperscan as hs

                    db = hs.Database(mode=hs.HS_MODE_BLOCK)
                    db.compile(expressions=[_ESCAPE_HINT.pattern.encode()], ids=[0], flags=[hs.HS_FLAG_SINGLEMATCH])
                    db.scratch = hs.Scratch(db)
                    self._terminated = hs.ScanTerminated
                    self._db = db
                except Exception as e:  # pragma: no cover - without the wheel
                    log.info("encoding check falls back to Python: %s", e)
                    self._failed = True
            return self._db

    def __call__(self, text: str) -> bool | None:
        db = self._db if self._db is not None else self._database()
        if db is None:
            return None
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = db.scratch.clone()
        try:
            db.scan(text.encode("utf-8", "surrogatepass"), match_event_handler=_stop, scratch=scratch)
        except self._terminated:
            return True
        return False


def _stop(*_: Any) -> bool:
    return True


_escape_hint = _EscapeHint()


def _maybe_encoded(text: str, lazy: bool = False) -> bool:
    """Could a decoder find something in this ASCII text? Escapes, entities, percent signs,
    control characters, Ascii85 and binary octets say yes; so does a long run that looks
    like base64 (digits and both letter cases), base32 (upper case and 2-7) or hex. Paths
    and identifiers are long runs too, but rarely like those.

    ``lazy``: find runs only up to the first that says yes, instead of all of them for
    the decoders to reuse (a text decoded block by block does not reuse them)."""
    hinted = _escape_hint(text)
    if hinted if hinted is not None else _ESCAPE_HINT.search(text):
        return True
    spans: Any
    if lazy:
        raw = text.encode("ascii", "replace")
        spans = _run_spans(raw)
    else:
        raw, spans = _ascii_run_spans(text)
    for s, e in spans:
        seg = raw[s:e]
        for run in seg.split(b"\n") if b"\n" in seg else (seg,):
            run = run.rstrip(b"\r")
            # bytes operations run in C: deleting the digits shortens a run that has one;
            # lower() changes a run with an upper-case letter, upper() one with a lower-case
            if len(run) < 16 or len(run.translate(None, _DIGITS)) == len(run):
                continue
            has_upper = run != run.lower()
            if (
                (has_upper and run != run.upper())
                or (len(run) >= 32 and not run.translate(None, _HEX_DIGITS))
                or _BASE32.fullmatch(run)
            ):
                return True
    return False


_DIGITS = b"0123456789"
# Messages up to this size get one encoding check over all their texts joined (cheaper
# than one per text when the message is plain, the common case).
_JOINED_CHECK_CHARS = 32 * 1024
_HEX_DIGITS = b"0123456789abcdefABCDEF"


def _regex_run_spans(text: str) -> tuple[bytes, list[tuple[int, int]]]:
    raw = text.encode("ascii", "replace")
    return raw, [(m.start(), m.end()) for m in _RUN.finditer(raw)]


def _regex_run_iter(raw: bytes) -> Iterator[tuple[int, int]]:
    return ((m.start(), m.end()) for m in _RUN.finditer(raw))


try:
    from .normalize import ascii_run_spans as _ascii_run_spans
    from .normalize import run_spans as _run_spans
except ImportError:  # pragma: no cover - normalize is optional for the scanner
    _ascii_run_spans = _regex_run_spans
    _run_spans = _regex_run_iter


def _wants_injection_check(text: str) -> bool:
    """Instructions need words: skip short tokens with no space (names, ids, enum values)."""
    n = len(text)
    if n < _INJECTION_MIN_CHARS:
        return False
    return n >= 32 or " " in text or "\n" in text or not text.isascii()


class Scanner:
    """All detectors, configured once. Thread-safe: large messages may be scanned off the
    event loop (Hyperscan and RE2 release the GIL)."""

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        normalize: bool = True,
        injection: bool = True,
        hidden_unicode: bool = True,
        max_field_chars: int = fieldmod.DEFAULT_MAX_FIELD_CHARS,
        prefilter: bool = True,
    ) -> None:
        self.engine = engine if engine is not None else Engine.from_packs()
        self.max_field_chars = max_field_chars
        norm = _optional("mcpwall.detect.normalize") if (normalize or hidden_unicode) else None
        inj = _optional("mcpwall.detect.injection") if injection else None
        self._variants: Callable[[str], list[Any]] | None = getattr(norm, "variants", None) if normalize else None
        self._hidden: Callable[[str, str], list[Finding]] | None = (
            getattr(norm, "hidden_unicode", None) if hidden_unicode else None
        )
        self._inject: Callable[..., list[Finding]] | None = getattr(inj, "detect", None)
        # The injection detector's Hyperscan expressions ride along in the pattern
        # engine's pass (one scan of the message, not one more per text and view).
        self._fused: str | None = None
        self._inject_cands: Callable[[str, bytes | None, list[tuple[int, int]]], dict[int, list[int]]] | None = None
        hs_exprs = getattr(inj, "hs_expressions", None) if self._inject is not None else None
        exprs = hs_exprs() if hs_exprs is not None else None
        if exprs and self.engine.fuse("injection", exprs):
            self._fused = "injection"
            self._inject_cands = getattr(inj, "candidates_from_hits", None)
            if self._inject_cands is None:
                self._fused = None
        self.prefilter: Any = None
        if prefilter:
            pre = _optional("mcpwall.detect.prefilter")
            if pre is not None:
                self.prefilter = pre.FramePrefilter(self.engine, injection=inj if self._inject is not None else None,
                                                    max_field_chars=max_field_chars)
        variant_cls = getattr(norm, "Variant", None)
        self._raw_variant: Callable[[str], Any] = (
            (lambda t: variant_cls(t, "raw")) if variant_cls is not None else (lambda t: _RawVariant(t))
        )

    @classmethod
    def from_settings(cls, settings: Any = None) -> Scanner:
        """Build from ``Settings`` (its ``detection`` section) or that section as a dict.

        Keys: ``packs`` (extra pack files or directories), ``builtin_packs`` (default true),
        ``disabled`` (rule id globs), ``suppress`` (list of ``{rule, server, tool, path}``),
        ``categories`` (keep only these), ``max_findings_per_rule``, ``max_field_chars``,
        ``normalize``, ``injection``, ``hidden_unicode`` (booleans), ``backend``
        (``auto``/``hyperscan``/``re2``), ``cache`` (false, or a directory).
        """
        conf: Mapping[str, Any]
        if settings is None:
            conf = {}
        elif isinstance(settings, Mapping):
            conf = settings
        else:
            conf = getattr(settings, "detection", None) or {}
            if not isinstance(conf, Mapping):
                conf = conf.model_dump() if hasattr(conf, "model_dump") else dict(conf)
        known = {"packs", "builtin_packs", "disabled", "suppress", "categories", "max_findings_per_rule",
                 "max_field_chars", "normalize", "injection", "hidden_unicode", "backend", "cache"}
        unknown = set(conf) - known
        if unknown:
            log.warning("ignoring unknown detection settings: %s", ", ".join(sorted(unknown)))
        cache = conf.get("cache", True)
        engine = Engine.from_packs(
            conf.get("packs") or (),
            builtin=bool(conf.get("builtin_packs", True)),
            disabled=conf.get("disabled") or (),
            suppress=conf.get("suppress") or (),
            backend=str(conf.get("backend", "auto")),
            cache=cache,
            max_per_rule=int(conf.get("max_findings_per_rule", DEFAULT_MAX_PER_RULE)),
            categories=conf.get("categories"),
        )
        return cls(
            engine,
            normalize=bool(conf.get("normalize", True)),
            injection=bool(conf.get("injection", True)),
            hidden_unicode=bool(conf.get("hidden_unicode", True)),
            max_field_chars=int(conf.get("max_field_chars", fieldmod.DEFAULT_MAX_FIELD_CHARS)),
        )

    # -- public API --

    def scan_message(
        self,
        obj: Any,
        direction: Direction | str,
        method: str | None = None,
        *,
        server: str | None = None,
        tool: str | None = None,
    ) -> ScanResult:
        """Scan one decoded JSON-RPC message. ``method`` is the request's method for a
        response. ``server`` and ``tool`` select suppressions."""
        ext = fieldmod.extract(obj, direction, method, max_field_chars=self.max_field_chars)
        unfinished: list[tuple[str, str]] = []
        findings = self._scan(ext, server=server, tool=tool, unfinished=unfinished)
        skipped = [*ext.uninspected, *unfinished]
        return ScanResult(
            findings=findings,
            uninspected=[p for p, _ in skipped],
            reasons=dict(skipped),
        )

    def scan_frame(
        self,
        raw: bytes,
        obj: Any,
        direction: Direction | str,
        method: str | None = None,
        *,
        server: str | None = None,
        tool: str | None = None,
    ) -> ScanResult:
        """:meth:`scan_message` for a frame whose exact wire bytes are ``raw``: when the
        frame prefilter proves from them that nothing can be found, the result is clean
        with ``prefiltered`` set and no field is extracted (the shared :data:`PREFILTERED`
        result, which callers must not change)."""
        pre = self.prefilter
        if pre is not None and pre.clean(raw, direction, method):
            return PREFILTERED
        return self.scan_message(obj, direction, method, server=server, tool=tool)

    def scan_text(self, text: str, role: str, path: str = "$", *, server: str | None = None,
                  tool: str | None = None) -> list[Finding]:
        """Scan one text as if it were a field of the given role at ``path``."""
        if role not in (fieldmod.REQUEST, fieldmod.RESPONSE, fieldmod.TOOL_DESCRIPTION):
            raise ValueError(f"unknown role {role!r}; use request, response or tool_description")
        ext = fieldmod.Extraction()
        ext.add(text, role, path)
        return self._scan(ext, server=server, tool=tool)

    def scan_fields(self, flds: Sequence[fieldmod.Field], *, server: str | None = None,
                    tool: str | None = None) -> list[Finding]:
        return self._scan(fieldmod.Extraction.of(list(flds)), server=server, tool=tool)

    # -- work --

    def _views(self, text: str, hinted: bool = False) -> list[Any] | None:
        """Normalised and decoded views of a text beyond the raw one; None when there are
        none (the common case: plain ASCII with nothing to decode). ``hinted``: the
        caller already found encoding hints in this very text."""
        long = len(text) >= 2 * VIEW_BLOCK_CHARS
        if self._variants is None or (not hinted and text.isascii() and not _maybe_encoded(text, long)):
            return None
        try:
            views = self._block_views(text) if long else self._variants(text)
        except Exception:  # a normaliser bug must not hide the raw text from the patterns
            log.exception("normalisation failed; scanning the raw text only")
            return None
        return views or None

    def _block_views(self, text: str) -> list[Any]:
        """Views of a long text, built block by block (blocks end at line breaks): each
        decoded layer holds only the blocks that layer changes, so one escaped URL in a
        megabyte of logs costs a few kilobytes of extra scanning, not another megabyte.
        The raw text is scanned whole as always; decoded findings cover the whole field."""
        assert self._variants is not None
        layers: dict[str, list[str]] = {}
        n = len(text)
        pos = 0
        while pos < n:
            cut = text.find("\n", pos + VIEW_BLOCK_CHARS)
            end = n if cut < 0 or n - cut < VIEW_BLOCK_CHARS // 2 else cut + 1
            block = text[pos:end]
            for v in self._variants(block)[1:]:
                layers.setdefault(v.layer, []).append(v.text)
            pos = end
        return [self._raw_variant(text), *(_view(VIEW_JOIN.join(parts), layer) for layer, parts in layers.items())]

    def _scan(self, ext: fieldmod.Extraction, *, server: str | None, tool: str | None,
              unfinished: list[tuple[str, str]] | None = None) -> list[Finding]:
        """Findings for the extracted texts; ``unfinished`` collects (path, reason) of
        fields the work budget did not let the patterns finish (uninspected, not clean)."""
        texts = ext.texts
        n = len(texts)
        # One look at the whole message decides whether any text needs per-text work.
        joined = "\n".join(texts) if (self._variants is not None or self._hidden is not None) else ""
        # A long message is checked text by text instead (the same answer: no decoder
        # input spans two texts), so that its long texts are not checked twice and the
        # decoders reuse the runs their check found.
        whole = len(joined) <= _JOINED_CHECK_CHARS
        plain = whole and joined.isascii() and not _maybe_encoded(joined)
        unusual = not plain and _has_unusual(joined)
        views_by_field: list[list[Any] | None] = (
            [None] * n if plain else [self._views(t, hinted=whole and n == 1 and joined.isascii()) for t in texts]
        )
        segments: list[str] = texts
        roles: list[str] = ext.roles
        owners: list[tuple[int, str]] | None = None  # (field index, layer) of extra segments
        # field index -> segment of each of its views after the raw one (-1: not scanned)
        view_segments: dict[int, list[int]] = {}
        if any(v is not None for v in views_by_field):
            segments = list(texts)
            roles = list(ext.roles)
            owners = []
            for i, views in enumerate(views_by_field):
                if not views:
                    continue
                where = view_segments[i] = []
                for v in views[1:]:
                    if v.text and v.text != texts[i]:
                        where.append(len(segments))
                        segments.append(v.text)
                        roles.append(ext.roles[i])
                        owners.append((i, v.layer))
                    else:
                        where.append(-1)
        incomplete: dict[int, str] = {}
        extra_hits: list[list[tuple[int, int]] | None] = []
        wants = [_wants_injection_check(t) for t in texts] if self._inject is not None else [False] * n
        fused = self._fused
        if fused is not None and (not whole or sum(len(views_by_field[i] or (0,)) for i in range(n) if wants[i]) < 2):
            # The fused pass saves a call per view, which counts for many short views.
            # Over long texts, or a single view, the scans apart cost less: the fused
            # database is no faster than the two apart, and slower on input that keeps
            # both busy (adversarial runs).
            fused = None
        per_segment = self.engine.scan_many(segments, roles, incomplete, fused, extra_hits)
        if incomplete and unfinished is not None:
            done: set[int] = set()
            for k, reason in sorted(incomplete.items()):
                i = k if k < n else owners[k - n][0] if owners else k
                if i not in done:
                    done.add(i)
                    unfinished.append((ext.path(i), reason))
        findings: list[Finding] = []
        raw_seen: set[tuple[int, str, str]] = set()
        for i in range(n):
            for m in per_segment[i]:
                raw_seen.add((i, m.rule.id, m.value))
                findings.append(self._finding(m, ext, i, "raw"))
        if owners:
            for (i, layer), matches in zip(owners, per_segment[n:], strict=True):
                for m in matches:
                    key = (i, m.rule.id, m.value)
                    if key in raw_seen:
                        continue  # already reported where it is visible
                    raw_seen.add(key)
                    findings.append(self._finding(m, ext, i, layer))
        hidden, inject = self._hidden, self._inject
        for i, text in enumerate(texts):
            if hidden is not None and unusual and _has_unusual(text):
                try:
                    findings.extend(hidden(text, ext.path(i)))
                except Exception:
                    log.exception("hidden-unicode detector failed on %s", ext.path(i))
            if inject is not None and wants[i]:
                views = views_by_field[i] or [self._raw_variant(text)]
                cands = self._candidates(segments, extra_hits, i, view_segments.get(i)) if extra_hits else None
                try:
                    findings.extend(inject(text, role=ext.roles[i], path=ext.path(i), variants=views,
                                           candidates=cands))
                except Exception:
                    log.exception("injection detector failed on %s", ext.path(i))
        if self.engine.suppressions:
            findings = [
                x for x in findings if not self.engine.is_suppressed(x.rule, server=server, tool=tool, path=x.path)
            ]
        return findings

    def _candidates(self, segments: list[str], extra_hits: list[list[tuple[int, int]] | None], i: int,
                    more: list[int] | None) -> list[dict[int, list[int]] | None]:
        """The injection detector's candidates for field ``i`` and each of its views, from
        the reports of the engine's pass (None where that pass did not cover a view)."""
        assert self._inject_cands is not None
        out: list[dict[int, list[int]] | None] = []
        for k in (i, *(more or ())):
            hits = extra_hits[k] if k >= 0 else None
            if hits is None:
                out.append(None)
                continue
            seg = segments[k]
            out.append(self._inject_cands(seg, None if seg.isascii() else seg.encode("utf-8"), hits) if hits else {})
        return out

    @staticmethod
    def _finding(m: Match, ext: fieldmod.Extraction, i: int, layer: str) -> Finding:
        rule = m.rule
        extra: dict[str, Any] = {"preview": _preview(m.value)}
        if layer != "raw":
            extra["layer"] = layer
        if ext.decoded(i):
            extra["decoded"] = ext.decoded(i)
        if ext.is_key(i):
            extra["key"] = True
        if m.masked:
            extra["masked"] = True
        if m.capped:
            extra["capped"] = True
        message = rule.title or rule.id
        if m.masked:
            message += " (masked or placeholder value)"
        if layer != "raw":
            message += f" (in {layer}-decoded text)"
        if m.capped:
            message += " (per-message limit reached for this rule; further matches not reported)"
        span = (m.start, m.end) if layer == "raw" else (0, len(ext.texts[i]))
        return Finding(
            category=rule.category,
            rule=rule.id,
            severity=m.severity,
            message=message,
            path=ext.path(i),
            span=span,
            detector=DETECTOR,
            remediation=rule.remediation,
            extra=extra,
        )


@dataclass(frozen=True, slots=True)
class _RawVariant:
    """Stand-in for ``normalize.Variant`` when that module is not available."""

    text: str
    layer: str = "raw"


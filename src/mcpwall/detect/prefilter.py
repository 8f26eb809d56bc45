"""A one-pass test on a frame's wire bytes that proves it clean without extracting fields.

Most frames on a relay carry nothing any detector reports. For those, walking the decoded
message, joining its strings and running the detectors costs more than the rest of the
relay. :class:`FramePrefilter` answers first, from ``frame.raw`` alone, with one Hyperscan
scan over a database that is a *superset* of everything that can lead to a finding:

- every pattern-engine expression (as the engine's own pass uses it);
- every expression of the injection detector, each worth its rule's weight: a frame is
  sent on only when the weights of the rule families seen anywhere in it could reach the
  detector's threshold (with the tool-description bonus for catalogue results);
- every sign that makes the scanner build decoded or normalised views or run the hidden
  character check: escapes and entities (``%``, ``&``, ``\\``, ``<~``), control
  characters, binary octets, runs that could be base-N or hex (16 run characters with a
  digit among them), and the injection detector's signs of rot13, reversed, leetspeak,
  spaced-out or Morse text.

It only answers for frames whose bytes are ASCII without a backslash. There every JSON
string is its characters between two quotes, so each text the scanner would look at is in
the bytes as it is. The quotes become line breaks before the scan, the same boundary the
engine's pass puts around each text, and every expression is compiled multi-line, so
anchors hold at every string boundary (the engine's and the detector's ``^``/``$`` match
at most there). Matching extra bytes (keys of the envelope, numbers, punctuation) only
sends more frames down the full path, never fewer. Frames with a ``blob`` or ``data``
member (decoded or not inspected by the field walker), longer than the field limit, or
nested deeper than it walks, always take the full path, as does everything else when
Hyperscan is not available.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from ..frame import Direction
from . import engine as enginemod
from . import fields as fieldmod

log = logging.getLogger(__name__)

_QUOTE_TO_NEWLINE = bytes.maketrans(b'"', b"\n")
# Scanner._maybe_encoded and normalize's gates, widened: any of these sends the frame on.
_RUN = r"[A-Za-z0-9+/=_-]"
_SIGNS: tuple[str, ...] = (
    r"[%&\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|<~|[01]{8} ?[01]{8} ?[01]{8}",
    # members the field walker decodes (base64 blobs) or reports as not inspected (media
    # data); the quotes around a key are line breaks by the time the scan sees it
    r"^(?:blob|data)$",
)
# A run with a digit in it, reported only when 16 or more characters long (the scanner
# tries no run without a digit); cheaper for Hyperscan than spelling out the 16 places.
_DIGIT_RUN = f"{_RUN}*[0-9]{_RUN}*"
_MIN_RUN = 16
# Msgspec and most peers open a message with this, then often a numeric id and the
# method. The field walker skips those members (they are no text a model reads), and so
# does the scan: ``jsonrpc`` before a colon and method names such as ``tools/call`` are
# weak injection signals, and each report costs a call back into Python.
_ENVELOPE = re.compile(
    rb'\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*(?:"id"\s*:\s*-?[0-9]{1,20}\s*,\s*)?(?:"method"\s*:\s*"[^"\\]{0,200}"\s*)?'
)
_SIGN = -1  # weight of an expression that alone sends the frame on
_NESTING = 256


class FramePrefilter:
    """Built once per scanner; :meth:`clean` is thread-safe."""

    def __init__(self, engine: enginemod.Engine, *, injection: Any = None, normalize: bool = True,
                 max_field_chars: int = fieldmod.DEFAULT_MAX_FIELD_CHARS) -> None:
        self.max_field_chars = max_field_chars
        self.available = False
        self._local = threading.local()
        self._weights: list[tuple[float, tuple[tuple[str, float], ...]]] = []
        self._threshold = 1.0
        self._bonus = 0.0
        hs = enginemod._hs
        if hs is None or engine.backend != "hyperscan":
            return
        exprs: list[bytes] = []
        flags: list[int] = []
        multi = hs.HS_FLAG_MULTILINE | hs.HS_FLAG_SINGLEMATCH
        for rule in engine.rules:
            exprs.append(rule.hs_source())
            flags.append(enginemod._hs_flags(rule) | multi)
            self._weights.append((_SIGN, ()))
        for sign in _SIGNS:
            exprs.append(sign.encode())
            flags.append(multi)
            self._weights.append((_SIGN, ()))
        run_id = len(exprs)
        exprs.append(_DIGIT_RUN.encode())
        flags.append(multi)
        self._weights.append((_SIGN, ()))
        if injection is not None:
            inj_exprs = injection.hs_expressions()
            if inj_exprs is None:
                return  # the detector would run every rule on every text
            derived = injection._ANY_DERIVED_HINT.pattern
            exprs.append(derived.removeprefix("(?i)").encode())
            flags.append(multi | hs.HS_FLAG_CASELESS)
            self._weights.append((_SIGN, ()))
            rules = injection.RULES
            for hid, (expr, f) in enumerate(inj_exprs):
                # Only a rule's first part makes it a candidate; the others narrow it.
                fams = tuple(
                    (rules[i].name.split(".")[0], float(rules[i].weight))
                    for i, part in injection._PARTS[hid] if part == 0
                )
                if not fams:
                    continue
                exprs.append(expr)
                flags.append(f | multi)
                self._weights.append((0.0, fams))
            self._threshold = float(injection.THRESHOLD)
            self._bonus = 0.4  # the tool-description bonus of injection._clusters
        del normalize  # the signs above are the normaliser's gates whether or not it runs
        ext = [(0, 0, 0, 0, 0, 0)] * len(exprs)
        ext[run_id] = (hs.HS_EXT_FLAG_MIN_LENGTH, 0, 0, _MIN_RUN, 0, 0)
        key = [*exprs, f"min_length {run_id} {_MIN_RUN}".encode()]
        path = enginemod.database_path(engine.cache, "hs-prefilter", key, flags) if engine.cache else None
        db = enginemod.load_database(path)
        if db is None:
            try:
                db = hs.Database(mode=hs.HS_MODE_BLOCK)
                db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=flags, ext=ext)
                db.scratch = hs.Scratch(db)
            except Exception as e:
                log.warning("cannot compile the frame prefilter (%s); every frame is scanned in full", e)
                return
            enginemod.store_database(db, path)
        self._db = db
        self._terminated = hs.ScanTerminated
        self.available = True

    def _scratch(self) -> Any:
        s = getattr(self._local, "scratch", None)
        if s is None:
            s = self._local.scratch = self._db.scratch.clone()
        return s

    def clean(self, raw: bytes, direction: Direction | str, method: str | None = None) -> bool:
        """True when the full scan of the frame with these wire bytes cannot report
        anything (no finding, nothing uninspected); False means only "scan it"."""
        # A backslash (a JSON escape: the text is not its bytes) is one of the signs.
        if not self.available or not raw.isascii() or len(raw) > self.max_field_chars:
            return False
        if len(raw) > 2 * _NESTING and raw.count(b"{") + raw.count(b"[") > _NESTING:
            return False
        if method in fieldmod._CATALOGUE_METHODS:
            d = direction if isinstance(direction, Direction) else (
                fieldmod._DIRECTIONS.get(direction) or Direction.parse(direction))
            need = self._threshold - (self._bonus if d is Direction.S2C else 0.0)
        else:
            need = self._threshold
        buf = raw.translate(_QUOTE_TO_NEWLINE)
        m = _ENVELOPE.match(raw)
        if m is not None:
            buf = buf[m.end() :]
        # [weight needed, then the largest weight seen per injection family once any is]
        state: list[Any] = [need]
        try:
            self._db.scan(buf, match_event_handler=self._on_match, context=state, scratch=self._scratch())
        except self._terminated:
            return False
        return True

    def _on_match(self, hid: int, _start: int, _end: int, _flags: int, state: list[Any]) -> bool:
        """True (stop: the frame takes the full path) on a sign, or once the injection
        families seen could add up to a finding."""
        sign, fams = self._weights[hid]
        if sign == _SIGN:
            return True
        if len(state) == 1:
            state.append({})
        seen: dict[str, float] = state[1]
        for fam, w in fams:
            if w > seen.get(fam, 0.0):
                seen[fam] = w
        need: float = state[0]
        return sum(seen.values()) >= need

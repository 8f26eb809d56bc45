"""Text normalisation before matching, and detection of hidden Unicode.

Attackers hide instructions from people while keeping them readable to a model: lookalike
letters from other scripts, zero-width characters between letters, Unicode tag characters
that render as nothing, variation-selector byte smuggling, terminal escape sequences, and
plain encodings (base64, hex, URL encoding, HTML entities, ``\\u`` escapes).

``variants(text)`` returns every view of a text that the pattern detectors should see:
the raw text first, then a Unicode-normalised view, the ASCII hidden in tag characters,
and each decodable encoded layer (decoded layers are normalised and decoded again, with
bounded depth, count and total size). The layer name says which transformation produced
a view; the ``base64`` layer covers the base-N family (base64, base64url, base32, base85,
Ascii85) and the ``hex`` layer covers byte dumps in radix form (hex and 8-bit binary).

``hidden_unicode(text, path)`` reports the invisible or deceptive characters themselves,
skipping their legitimate uses (a ZWJ inside an emoji sequence, ZWNJ in Persian or Indic
words, bidi marks in right-to-left text, VS16 after an emoji, subdivision flag tags).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import re2

from mcpwall.verdict import Finding, Severity

__all__ = ["LAYERS", "Variant", "hidden_unicode", "variants"]

LAYERS = frozenset({"raw", "nfkc", "tags", "base64", "hex", "url", "html", "escape"})

# Bounds on the work ``variants`` does for one text.
MAX_DEPTH = 3
MAX_VARIANTS = 16
MIN_ENCODED_RUN = 16
BUDGET_FACTOR = 4
BUDGET_EXTRA = 4096


@dataclass(frozen=True, slots=True)
class Variant:
    """One view of a text: ``layer`` names the transformation that produced it."""

    text: str
    layer: str


# --------------------------------------------------------------------------- tables

# Zero-width and other invisible formatting characters that carry no visible glyph.
_ZERO_WIDTH = {
    0x200B: "ZERO WIDTH SPACE",
    0x200C: "ZERO WIDTH NON-JOINER",
    0x200D: "ZERO WIDTH JOINER",
    0x2060: "WORD JOINER",
    0x2061: "FUNCTION APPLICATION",
    0x2062: "INVISIBLE TIMES",
    0x2063: "INVISIBLE SEPARATOR",
    0x2064: "INVISIBLE PLUS",
    0xFEFF: "ZERO WIDTH NO-BREAK SPACE",
    0x180E: "MONGOLIAN VOWEL SEPARATOR",
    0x034F: "COMBINING GRAPHEME JOINER",
    0x115F: "HANGUL CHOSEONG FILLER",
    0x1160: "HANGUL JUNGSEONG FILLER",
    0x3164: "HANGUL FILLER",
    0xFFA0: "HALFWIDTH HANGUL FILLER",
    0x17B4: "KHMER VOWEL INHERENT AQ",
    0x17B5: "KHMER VOWEL INHERENT AA",
    0x206A: "INHIBIT SYMMETRIC SWAPPING",
    0x206B: "ACTIVATE SYMMETRIC SWAPPING",
    0x206C: "INHIBIT ARABIC FORM SHAPING",
    0x206D: "ACTIVATE ARABIC FORM SHAPING",
    0x206E: "NATIONAL DIGIT SHAPES",
    0x206F: "NOMINAL DIGIT SHAPES",
}
_BIDI_MARKS = {0x200E: "LEFT-TO-RIGHT MARK", 0x200F: "RIGHT-TO-LEFT MARK", 0x061C: "ARABIC LETTER MARK"}
_BIDI_EMBED = {
    0x202A: "LEFT-TO-RIGHT EMBEDDING",
    0x202B: "RIGHT-TO-LEFT EMBEDDING",
    0x202C: "POP DIRECTIONAL FORMATTING",
    0x202D: "LEFT-TO-RIGHT OVERRIDE",
    0x202E: "RIGHT-TO-LEFT OVERRIDE",
    0x2066: "LEFT-TO-RIGHT ISOLATE",
    0x2067: "RIGHT-TO-LEFT ISOLATE",
    0x2068: "FIRST STRONG ISOLATE",
    0x2069: "POP DIRECTIONAL ISOLATE",
}

# Characters dropped from the normalised view: invisible formatting, bidi controls,
# variation selectors and tag characters (the last decoded separately, in the tags view).
_DROP: dict[int, None] = dict.fromkeys([*_ZERO_WIDTH, *_BIDI_MARKS, *_BIDI_EMBED, 0x00AD])
_DROP.update(dict.fromkeys(range(0xFE00, 0xFE10)))
_DROP.update(dict.fromkeys(range(0xE0100, 0xE01F0)))
_DROP.update(dict.fromkeys(range(0xE0000, 0xE0080)))


def _confusables() -> dict[int, str]:
    """Lookalikes of Latin letters and ASCII punctuation that NFKC leaves alone.

    Mathematical alphanumerics, fullwidth and circled forms are folded by NFKC already;
    this table covers the scripts whose letters merely *look* Latin.
    """
    pairs = {
        # Cyrillic
        "\u0430": "a", "\u0432": "b", "\u0435": "e", "\u0451": "e", "\u043a": "k", "\u043c": "m",
        "\u043d": "h", "\u043e": "o",
        "\u0440": "p", "\u0441": "c", "\u0442": "t", "\u0443": "y", "\u0445": "x", "\u0455": "s",
        "\u0456": "i", "\u0457": "i",
        "\u0458": "j", "\u0501": "d", "\u051b": "q", "\u051d": "w", "\u04bb": "h", "\u04cf": "l",
        "\u04af": "y", "\u0261": "g",
        "\ua7b5": "b", "\u044c": "b", "\u0433": "r", "\u043f": "n", "\u0438": "u", "\u043b": "n",
        "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u0401": "E", "\u041a": "K", "\u041c": "M",
        "\u041d": "H", "\u041e": "O",
        "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0423": "Y", "\u0425": "X", "\u0405": "S",
        "\u0406": "I", "\u0407": "I",
        "\u0408": "J", "\u04ae": "Y", "\u04c0": "I", "\u0500": "D", "\u051a": "Q", "\u051c": "W",
        "\u04ba": "H",
        # Greek
        "\u03b1": "a", "\u03b2": "b", "\u03b3": "y", "\u03b5": "e", "\u03b9": "i", "\u03ba": "k",
        "\u03bd": "v", "\u03bf": "o",
        "\u03c1": "p", "\u03c4": "t", "\u03c5": "u", "\u03c7": "x", "\u03c9": "w", "\u03f2": "c",
        "\u03f3": "j", "\u0475": "v",
        "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I",
        "\u039a": "K", "\u039c": "M",
        "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T", "\u03a5": "Y", "\u03a7": "X",
        "\u03f9": "C",
        # Armenian
        "\u0585": "o", "\u057d": "u", "\u0570": "h", "\u0578": "n", "\u0581": "g", "\u0584": "p",
        "\u054d": "U", "\u0555": "O",
        # Latin small capitals and other Latin lookalikes
        "\u1d00": "a", "\u0299": "b", "\u1d04": "c", "\u1d05": "d", "\u1d07": "e", "\ua730": "f",
        "\u0262": "g", "\u029c": "h",
        "\u026a": "i", "\u1d0a": "j", "\u1d0b": "k", "\u029f": "l", "\u1d0d": "m", "\u0274": "n",
        "\u1d0f": "o", "\u1d18": "p",
        "\u0280": "r", "\ua731": "s", "\u1d1b": "t", "\u1d1c": "u", "\u1d20": "v", "\u1d21": "w",
        "\u028f": "y", "\u1d22": "z",
        "\u0131": "i", "\u0237": "j", "\u0251": "a", "\u0269": "i", "\u028b": "v", "\u0252": "a",
        "\u0185": "b", "\u0275": "o",
        # Cherokee capitals
        "\u13aa": "A", "\u13f4": "B", "\u13df": "C", "\u13ac": "E", "\u13bb": "H", "\u13ab": "J",
        "\u13e6": "K", "\u13de": "L",
        "\u13b7": "M", "\u13e2": "P", "\u13a1": "R", "\u13da": "S", "\u13a2": "T", "\u13d9": "V",
        "\u13b3": "W", "\u13c3": "Z",
        # punctuation that NFKC keeps distinct
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-", "\u2044": "/", "\u2215": "/", "\u29f8": "/",
        "\u02d0": ":", "\u0589": ":", "\u05c3": ":", "\u2236": ":", "\ua789": ":",
        "\u01c3": "!",
    }  # fmt: skip
    return {ord(k): v for k, v in pairs.items()}


_CONFUSABLE = _confusables()
_FOLD_TABLE: dict[int, str | None] = {**_CONFUSABLE, **_DROP}

# Right-to-left and joining scripts, where bidi marks and ZWNJ/ZWJ have real jobs.
_RTL_RANGES = ((0x0590, 0x08FF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFF), (0x10800, 0x10FFF), (0x1E800, 0x1EFFF))
_JOINING_RANGES = (*_RTL_RANGES, (0x0900, 0x0DFF), (0x1780, 0x17FF), (0x0E00, 0x0EFF), (0x0F00, 0x0FFF))


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2B00 <= cp <= 0x2BFF
        or 0x2190 <= cp <= 0x21FF
        or 0x2300 <= cp <= 0x23FF
        or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D, 0x3297, 0x3299, 0x20E3)
        or 0x1F3FB <= cp <= 0x1F3FF
    )


# ------------------------------------------------------------------------- variants

# Anything that might be an encoding; when absent from ASCII text the raw view is enough.
_ENCODED_HINT = re2.compile(
    r"[A-Za-z0-9+/_-]{16,}|%[0-9A-Fa-f]{2}|&#?[A-Za-z0-9]{2,10};|\\[uUx][0-9A-Fa-f]{2}|[01]{8} [01]{8}|<~"
)
# One pass finds every run that could be base64, base32 or hex; each run is then classified.
_A85_RUN = re.compile(r"<~[!-u\s]{10,}~>")
_B85_RUN = re.compile(r"(?<![!-~])[0-9A-Za-z!#$%&()*+\-;<=>?@^_`{|}~]{30,}")
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{2}){8,}(?![0-9A-Za-z])")
_HEX_SEP_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{2}(?:[ :][0-9A-Fa-f]{2}){7,}(?![0-9A-Za-z])")
_BIN_RUN = re.compile(r"(?<![01])[01]{8}(?: ?[01]{8}){3,}(?![01])")
_URL_ESC = re.compile(r"%[0-9A-Fa-f]{2}")
_HTML_ENT = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ESCAPE = re.compile(r"\\(?:u\{[0-9A-Fa-f]{1,6}\}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2})")


def _texty(raw: bytes) -> str | None:
    """Decoded bytes as text, or None when they do not look like human-readable text."""
    if len(raw) < 6:
        return None
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for c in s if c.isprintable() or c in "\n\r\t")
    if printable < 0.9 * len(s):
        return None
    letters = sum(1 for c in s if c.isalpha())
    if letters < 0.4 * len(s):
        return None
    # Text has word breaks; random bytes that happen to decode rarely do.
    if len(s) > 24 and not any(c.isspace() or c in "/._-:,;" for c in s):
        return None
    return s


def _matches_within(text: str, pattern: re.Pattern[str], coarse: Any) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, run only inside the maximal runs ``coarse`` (RE2, on
    bytes) finds in ASCII text. Every match of ``pattern`` lies inside such a run, and
    stdlib ``re`` walking every position of a large text is the slow part otherwise.
    The look-behind sees the text before a run; one character after it stays visible to
    the look-ahead."""
    if not text.isascii():
        yield from pattern.finditer(text)
        return
    n = len(text)
    for c in coarse.finditer(text.encode("ascii")):
        yield from pattern.finditer(text, c.start(), min(n, c.end() + 1))


def _sub_runs(text: str, pattern: re.Pattern[str], decode: object, coarse: Any = None) -> str | None:
    out: list[str] = []
    last = 0
    changed = False
    for m in pattern.finditer(text) if coarse is None else _matches_within(text, pattern, coarse):
        decoded = decode(m.group(0))  # type: ignore[operator]
        if decoded is None:
            continue
        out.append(text[last : m.start()])
        out.append(decoded)
        last = m.end()
        changed = True
    if not changed:
        return None
    out.append(text[last:])
    return "".join(out)


def _b64(run: str) -> str | None:
    body = run.rstrip("=")
    if len(body) % 4 == 1:
        body = body[:-1]
    padded = body + "=" * (-len(body) % 4)
    try:
        if "-" in body or "_" in body:
            raw = base64.urlsafe_b64decode(padded)
        else:
            raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _texty(raw)


def _b32(run: str) -> str | None:
    body = run.rstrip("=")
    padded = body + "=" * (-len(body) % 8)
    try:
        raw = base64.b32decode(padded)
    except (binascii.Error, ValueError):
        return None
    return _texty(raw)


def _a85(run: str) -> str | None:
    try:
        raw = base64.a85decode(run, adobe=True)
    except (binascii.Error, ValueError):
        return None
    return _texty(raw)


def _b85(run: str) -> str | None:
    # Base85 alphabets overlap ordinary punctuation heavily: demand a mixed-class run.
    if not (
        any(c.isdigit() for c in run)
        and any(c.isupper() for c in run)
        and any(c in "!#$%&()*+-;<=>?@^_`{|}~" for c in run)
    ):
        return None
    try:
        raw = base64.b85decode(run[: len(run) - len(run) % 5] if len(run) % 5 == 1 else run)
    except (binascii.Error, ValueError):
        return None
    return _texty(raw)


def _hex(run: str) -> str | None:
    digits = run.replace(" ", "").replace(":", "")
    if len(digits) % 2:
        return None
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        return None
    return _texty(raw)


def _bin(run: str) -> str | None:
    digits = run.replace(" ", "")
    raw = bytes(int(digits[i : i + 8], 2) for i in range(0, len(digits) - 7, 8))
    return _texty(raw)


_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_B32_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=")
# A run of base-N or hex alphabet, continued across line breaks so that a wrapped blob
# (MIME, PEM bodies, ``base64`` output) is one run and one decode. Linear in stdlib re:
# a plain class, and the optional continuation backtracks at most one line.
_RUN_BLOCK = re.compile(r"[A-Za-z0-9+/_=-]{16,}(?:\r?\n[A-Za-z0-9+/_=-]{16,})*")
# The same over the bytes of ASCII text (offsets agree): RE2 does not retry inside words.
_RUN_BLOCK_BYTES = re2.compile(rb"[A-Za-z0-9+/_=-]{16,}(?:\r?\n[A-Za-z0-9+/_=-]{16,})*")
# Run finding without a regex engine walking every position: the alphabet maps to ``a``,
# line breaks to ``n``/``r``, everything else to a space; ``bytes.find`` (a C substring
# search) locates the first 16 ``a`` of each run and one anchored match extends it over
# its wrapped lines. Same spans as ``_RUN_BLOCK``, several times faster than any regex
# scan of the whole text in Python.
_RUN_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_=-"
_RUN_TABLE = bytes(
    ord("a") if c in _RUN_ALPHABET else ord("n") if c == 10 else ord("r") if c == 13 else 32 for c in range(256)
)
_RUN_SEED = b"a" * MIN_ENCODED_RUN
_RUN_EXTEND = re.compile(rb"a*(?:r?na{16,})*")


def run_spans(raw: bytes) -> Iterator[tuple[int, int]]:
    """Byte spans of every run of at least 16 base-N/hex alphabet characters in ``raw``,
    continued across line breaks (a wrapped blob is one span), in order."""
    marks = raw.translate(_RUN_TABLE)
    find, extend = marks.find, _RUN_EXTEND.match
    pos = find(_RUN_SEED)
    while pos >= 0:
        m = extend(marks, pos + MIN_ENCODED_RUN)
        end = m.end() if m is not None else pos + MIN_ENCODED_RUN
        yield pos, end
        pos = find(_RUN_SEED, end)


_B85_PUNCT = frozenset("#$%&()*;<=>?@^`{|}~")
_B85_TOKEN = re2.compile(  # on bytes: no offset conversion per match
    rb"[!-~]*[#$%&()*;<=>?@^`{|}~][!-~]*[#$%&()*;<=>?@^`{|}~][!-~]*[#$%&()*;<=>?@^`{|}~][!-~]*"
)
_HEX_SEP_GATE = re2.compile(r"[0-9A-Fa-f]{2}[ :][0-9A-Fa-f]{2}[ :][0-9A-Fa-f]{2}[ :][0-9A-Fa-f]{2}")
_BIN_GATE = re2.compile(r"[01]{8} ?[01]{8} ?[01]{8}")
# Maximal runs of the characters the two patterns consume: their matches lie inside.
_HEX_SEP_COARSE = re2.compile(rb"[0-9A-Fa-f][0-9A-Fa-f :]{22,}")
_BIN_COARSE = re2.compile(rb"[01][01 ]{34,}")
# Either of the two, in one search: most texts have neither.
_HEX_OR_BIN_GATE = re2.compile(f"{_HEX_SEP_GATE.pattern}|{_BIN_GATE.pattern}")


def _base_run(run: str) -> str | None:
    """Decode one alphanumeric run as base32 or base64, whichever yields text."""
    if _B32_CHARS.issuperset(run):
        return _b32(run) or _b64(run)
    # base64 of text mixes cases; paths and identifiers rarely have an upper-case letter
    # after a lower-case one *and* a digit or symbol of the alphabet
    if run.lower() == run or run.upper() == run:
        return None
    return _b64(run)


def _pieces(block: str) -> list[tuple[int, int, str]]:
    """The runs of a block: each wrapped blob in it (lines of one width, the last no
    longer) joined into one run; any other line on its own."""
    if "\n" not in block:
        return [(0, len(block), block)]
    lines = block.split("\n")
    out: list[tuple[int, int, str]] = []
    pos = 0
    i = 0
    while i < len(lines):
        width = len(lines[i].rstrip("\r"))
        j = i + 1
        while j < len(lines) and len(lines[j].rstrip("\r")) == width:
            j += 1
        if j < len(lines) and len(lines[j].rstrip("\r")) < width:
            j += 1  # the blob's short last line
        seg = lines[i:j]
        end = pos + sum(len(x) + 1 for x in seg) - 1
        out.append((pos, end - (1 if seg[-1].endswith("\r") else 0), "".join(x.rstrip("\r") for x in seg)))
        pos = end + 1
        i = j
    return out


_last_runs: tuple[str, tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]]] | None = None
_last_spans: tuple[str, bytes, list[tuple[int, int]]] | None = None


def ascii_run_spans(text: str) -> tuple[bytes, list[tuple[int, int]]]:
    """``run_spans`` of ASCII ``text`` with its bytes, remembered for the last text: the
    scanner's encoding check and the base64/hex decoders look at the same runs."""
    global _last_spans
    last = _last_spans
    if last is not None and last[0] is text:
        return last[1], last[2]
    raw = text.encode("ascii", "replace")
    spans = list(run_spans(raw))
    _last_spans = (text, raw, spans)
    return raw, spans


_HEX_BYTES = b"0123456789abcdefABCDEF"
_B32_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567="
# Decodings of runs seen recently, by run: a blob repeated in a message or across
# messages is decoded once. Bounded by clearing (a dict is cheaper than an LRU here).
_RUN_MEMO: dict[bytes, tuple[bool, str | None]] = {}
_RUN_MEMO_MAX = 4096
_RUN_MEMO_KEY_MAX = 1 << 16


def _decode_run(run: bytes) -> tuple[bool, str | None]:
    """(is hex, decoded text or None) for one run of at least ``MIN_ENCODED_RUN`` bytes,
    classified with C-level bytes operations: hex digits only, base32 alphabet only,
    or both letter cases (base64); anything else (paths, identifiers, one-case words)
    is not tried."""
    if len(run) <= _RUN_MEMO_KEY_MAX:
        hit = _RUN_MEMO.get(run)
        if hit is not None:
            return hit
    if not run.translate(None, _HEX_BYTES):
        out: tuple[bool, str | None] = (True, _hex(run.decode("ascii")) if len(run) % 2 == 0 else None)
    elif not run.translate(None, _B32_BYTES):
        r = run.decode("ascii")
        out = (False, _b32(r) or _b64(r))
    elif run.lower() == run or run.upper() == run:
        out = (False, None)
    else:
        out = (False, _b64(run.decode("ascii")))
    if len(run) <= _RUN_MEMO_KEY_MAX:
        if len(_RUN_MEMO) >= _RUN_MEMO_MAX:
            _RUN_MEMO.clear()
        _RUN_MEMO[run] = out
    return out


def _runs(text: str) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]]:
    """One pass over the alphanumeric runs of ``text``: (base-N decodings, hex decodings)
    as (start, end, decoded) triples. The base64 and hex layers share it."""
    global _last_runs
    last = _last_runs
    if last is not None and last[0] is text:
        return last[1]
    base: list[tuple[int, int, str]] = []
    hexes: list[tuple[int, int, str]] = []
    if text.isascii():
        raw, spans = ascii_run_spans(text)
        for s, e in spans:
            seg = raw[s:e]
            pieces = [(0, e - s, seg)] if b"\n" not in seg else [
                (a, b, r.encode("ascii")) for a, b, r in _pieces(text[s:e])
            ]
            for ps, pe, run in pieces:
                if len(run) < MIN_ENCODED_RUN:
                    continue
                is_hex, decoded = _decode_run(run)
                if decoded is not None:
                    (hexes if is_hex else base).append((s + ps, s + pe, decoded))
    else:
        raw = text.encode("utf-8", "surrogatepass")
        for origin, block in _char_blocks(text, raw, run_spans(raw)):
            for s, e, piece in _pieces(block):
                if len(piece) < MIN_ENCODED_RUN:
                    continue
                if _HEXDIGITS.issuperset(piece):
                    if len(piece) % 2 == 0:
                        decoded = _hex(piece)
                        if decoded is not None:
                            hexes.append((origin + s, origin + e, decoded))
                    continue
                decoded = _base_run(piece)
                if decoded is not None:
                    base.append((origin + s, origin + e, decoded))
    result = (base, hexes)
    _last_runs = (text, result)
    return result


def _char_blocks(text: str, raw: bytes, spans: Iterable[tuple[int, int]]) -> Iterable[tuple[int, str]]:
    """Byte spans of runs (ASCII) in non-ASCII text as (character offset, run)."""
    last_b = last_c = 0
    for s, e in spans:
        last_c += len(raw[last_b:s].decode("utf-8", "surrogatepass"))
        last_b = s
        yield last_c, raw[s:e].decode("ascii")


def _splice(text: str, subs: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    last = 0
    for s, e, d in subs:
        out.append(text[last:s])
        out.append(d)
        last = e
    out.append(text[last:])
    return "".join(out)


def _b85_candidate(text: str) -> bool:
    """A long whitespace-free token using several base85-only symbols (cheap gate)."""
    return any(
        m.end() - m.start() >= 30 and len(_B85_PUNCT.intersection(m.group(0).decode())) >= 3
        for m in _B85_TOKEN.finditer(text.encode("utf-8", "surrogatepass"))
    )


def _decode_base(text: str) -> str | None:
    cur = text
    changed = False
    if "<~" in text:
        new = _sub_runs(cur, _A85_RUN, _a85)
        if new is not None:
            cur, changed = new, True
    base, _ = _runs(cur)
    if base:
        cur, changed = _splice(cur, base), True
    if _b85_candidate(cur):
        new = _sub_runs(cur, _B85_RUN, _b85)
        if new is not None:
            cur, changed = new, True
    return cur if changed else None


def _decode_hex(text: str) -> str | None:
    _, hexes = _runs(text)
    cur = _splice(text, hexes) if hexes else text
    changed = bool(hexes)
    passes: list[tuple[re.Pattern[str], object, Any]] = []
    if _HEX_OR_BIN_GATE.search(text):
        if _HEX_SEP_GATE.search(text):
            passes.append((_HEX_SEP_RUN, _hex, _HEX_SEP_COARSE))
        if _BIN_GATE.search(text):
            passes.append((_BIN_RUN, _bin, _BIN_COARSE))
    for pattern, fn, coarse in passes:
        new = _sub_runs(cur, pattern, fn, coarse)
        if new is not None:
            cur, changed = new, True
    return cur if changed else None


def _decode_url(text: str) -> str | None:
    if "%" not in text or len(_URL_ESC.findall(text, 0, 1 << 20)) < 2:
        return None
    out = unquote(text, errors="replace")
    return out if out != text else None


def _decode_html(text: str) -> str | None:
    if "&" not in text or not _HTML_ENT.search(text):
        return None
    out = html.unescape(text)
    return out if out != text else None


def _escape_char(m: re.Match[str]) -> str:
    s = m.group(0)
    digits = s[3:-1] if s.startswith("\\u{") else s[2:]
    cp = int(digits, 16)
    if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        return s
    return chr(cp)


def _decode_escape(text: str) -> str | None:
    if "\\" not in text:
        return None
    out, n = _ESCAPE.subn(_escape_char, text)
    return out if n else None


_DECODERS = (
    ("base64", _decode_base),
    ("hex", _decode_hex),
    ("url", _decode_url),
    ("html", _decode_html),
    ("escape", _decode_escape),
)

_WORD = re.compile(r"\w+")


def _fold(text: str) -> str:
    """NFKC, drop invisible characters, fold lookalikes in words that are meant to be Latin.

    A word is folded when it mixes ASCII letters with lookalikes, or when most letters of
    the whole text are ASCII; genuine Cyrillic or Greek prose is left alone.
    """
    s = unicodedata.normalize("NFKC", text)
    s = s.translate(_DROP)
    folded = s.translate(_CONFUSABLE)
    if folded == s:
        return s
    letters = [c for c in s if c.isalpha()]
    ascii_letters = sum(1 for c in letters if c.isascii())
    if ascii_letters * 2 > len(letters):
        return folded

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        if any(c.isascii() and c.isalpha() for c in w):
            return w.translate(_CONFUSABLE)
        return w

    return _WORD.sub(word, s)


def _untag(text: str) -> str | None:
    """The text with Unicode tag characters replaced by the ASCII they encode."""
    if not any(0xE0000 <= ord(c) <= 0xE007F for c in text):
        return None
    out = []
    for c in text:
        cp = ord(c)
        if 0xE0020 <= cp <= 0xE007E:
            out.append(chr(cp - 0xE0000))
        elif not 0xE0000 <= cp <= 0xE007F:
            out.append(c)
    return "".join(out)


def variants(text: str) -> list[Variant]:
    """Every view of ``text`` the detectors should match against; ``raw`` first.

    Plain ASCII without anything encoding-like returns only the raw view. Decoded layers
    are normalised and decoded again up to ``MAX_DEPTH``; at most ``MAX_VARIANTS`` views
    are returned and their total size stays under a budget proportional to the input.
    """
    out = [Variant(text, "raw")]
    if text.isascii() and not _ENCODED_HINT.search(text):
        return out
    budget = BUDGET_FACTOR * len(text) + BUDGET_EXTRA
    seen = {text}

    def add(t: str, layer: str) -> bool:
        nonlocal budget
        if t in seen or len(out) >= MAX_VARIANTS or len(t) > budget:
            return False
        seen.add(t)
        budget -= len(t)
        out.append(Variant(t, layer))
        return True

    # (text, depth) pairs still to decode
    work: list[tuple[str, int]] = [(text, 0)]
    if not text.isascii():
        tagged = _untag(text)
        if tagged is not None:
            tagged_norm = _fold(tagged)
            if add(tagged_norm, "tags"):
                work.append((tagged_norm, 0))
        norm = _fold(text)
        if add(norm, "nfkc"):
            work.append((norm, 0))
    while work:
        cur, depth = work.pop(0)
        if depth >= MAX_DEPTH:
            continue
        for layer, decode in _DECODERS:
            if len(out) >= MAX_VARIANTS or budget <= 0:
                return out
            decoded = decode(cur)
            if decoded is None:
                continue
            if not decoded.isascii():
                tagged = _untag(decoded)
                decoded = _fold(tagged if tagged is not None else decoded)
            if add(decoded, layer):
                work.append((decoded, depth + 1))
    return out


# ------------------------------------------------------------------- hidden unicode

_REMEDIATION_INVISIBLE = (
    "Remove invisible characters before showing this text to a model, or treat the field "
    "as untrusted; review what the hidden text says."
)
_REMEDIATION_ANSI = (
    "Strip terminal escape sequences from tool output before it reaches a terminal or a model."
)

_INTERESTING = re2.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u180e\u034f\u061c\u115f\u1160\u3164\uffa0"
    "\u17b4\u17b5\ufe00-\ufe0f\U000e0000-\U000e007f\U000e0100-\U000e01ef\x1b\x9b]"
)
# CSI: ESC [ params intermediates final; OSC: ESC ] ... (BEL | ESC \); C1 CSI 0x9B.
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]{0,32}[ -/]{0,8}[@-~]|\x1b\][^\x07\x1b]{0,2048}(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]"
)


def _vs_byte(cp: int) -> int | None:
    if 0xFE00 <= cp <= 0xFE0F:
        return cp - 0xFE00
    if 0xE0100 <= cp <= 0xE01EF:
        return cp - 0xE0100 + 16
    return None


def _has_rtl(text: str) -> bool:
    return any(_in(ord(c), _RTL_RANGES) for c in text if ord(c) >= 0x0590)


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return 0x3400 <= cp <= 0x9FFF or 0x20000 <= cp <= 0x3FFFF or 0xF900 <= cp <= 0xFAFF


def hidden_unicode(text: str, path: str) -> list[Finding]:
    """Invisible or deceptive characters in ``text``, one finding per run, with spans."""
    if text.isascii() and "\x1b" not in text:
        return []
    if not _INTERESTING.search(text):
        return []
    findings: list[Finding] = []
    n = len(text)
    rtl = _has_rtl(text)
    i = 0
    zw_runs: list[tuple[int, int, list[str]]] = []
    while i < n:
        ch = text[i]
        cp = ord(ch)
        if cp == 0x1B or cp == 0x9B:
            m = _ANSI.match(text, i)
            end = m.end() if m else i + 1
            findings.append(_ansi_finding(text, i, end, path))
            i = end
            continue
        if 0xE0000 <= cp <= 0xE007F:
            j = i
            while j < n and 0xE0000 <= ord(text[j]) <= 0xE007F:
                j += 1
            hidden = "".join(chr(ord(c) - 0xE0000) for c in text[i:j] if 0xE0020 <= ord(c) <= 0xE007E)
            flag = i > 0 and text[i - 1] == "\U0001f3f4" and text[j - 1] == "\U000e007f" and j - i <= 8
            if not flag:
                findings.append(
                    Finding(
                        category="hidden_unicode",
                        rule="unicode.tag_characters",
                        severity=Severity.HIGH if len(hidden) >= 3 else Severity.MEDIUM,
                        message=f"{j - i} Unicode tag characters hide the text {hidden[:80]!r}",
                        path=path,
                        span=(i, j),
                        detector="normalize",
                        remediation=_REMEDIATION_INVISIBLE,
                        extra={"hidden_text": hidden[:4096]},
                    )
                )
            i = j
            continue
        vs = _vs_byte(cp)
        if vs is not None:
            j = i
            while j < n and _vs_byte(ord(text[j])) is not None:
                j += 1
            prev = text[i - 1] if i > 0 else ""
            single_ok = j - i == 1 and (
                (
                    cp in (0xFE0E, 0xFE0F)
                    and (prev == "" or _is_emoji(prev) or prev in "0123456789#*" or not prev.isascii())
                )
                or (cp >= 0xE0100 and prev != "" and _is_cjk(prev))
                or (cp < 0xFE0E and prev != "" and not prev.isascii())
            )
            if not single_ok:
                raw = bytes(b for c in text[i:j] if (b := _vs_byte(ord(c))) is not None)
                hidden = raw.decode("utf-8", errors="replace")
                findings.append(
                    Finding(
                        category="hidden_unicode",
                        rule="unicode.variation_selector_smuggling",
                        severity=Severity.HIGH if j - i >= 4 else Severity.MEDIUM,
                        message=f"{j - i} variation selectors in a row encode {len(raw)} hidden bytes",
                        path=path,
                        span=(i, j),
                        detector="normalize",
                        remediation=_REMEDIATION_INVISIBLE,
                        extra={"hidden_text": hidden[:4096]},
                    )
                )
            i = j
            continue
        if cp in _BIDI_EMBED:
            j = i
            while j < n and ord(text[j]) in _BIDI_EMBED:
                j += 1
            override = any(ord(c) in (0x202D, 0x202E) for c in text[i:j])
            if override or not rtl:
                findings.append(
                    Finding(
                        category="hidden_unicode",
                        rule="unicode.bidi_override" if override else "unicode.bidi_control",
                        severity=Severity.HIGH if override and not rtl else Severity.MEDIUM,
                        message="bidirectional control characters reorder how the text is displayed: "
                        + ", ".join(sorted({_BIDI_EMBED[ord(c)] for c in text[i:j]})),
                        path=path,
                        span=(i, j),
                        detector="normalize",
                        remediation="Remove bidirectional controls; the displayed order differs from the logical order a model reads.",
                    )
                )
            i = j
            continue
        if cp in _BIDI_MARKS:
            # Marks are ordinary punctuation in right-to-left text; in pure LTR text they are only noise.
            if not rtl:
                zw_runs.append((i, i + 1, [_BIDI_MARKS[cp]]))
            i += 1
            continue
        if cp in _ZERO_WIDTH:
            if _legit_joiner(text, i):
                i += 1
                continue
            j = i
            names: list[str] = []
            while j < n and ord(text[j]) in _ZERO_WIDTH and not _legit_joiner(text, j):
                names.append(_ZERO_WIDTH[ord(text[j])])
                j += 1
            zw_runs.append((i, j, names))
            i = j
            continue
        i += 1
    if zw_runs:
        total = sum(e - s for s, e, _ in zw_runs)
        severity = Severity.HIGH if total >= 8 else Severity.MEDIUM if total >= 2 else Severity.LOW
        for s, e, names in zw_runs[:64]:
            findings.append(
                Finding(
                    category="hidden_unicode",
                    rule="unicode.zero_width",
                    severity=severity,
                    message=f"invisible characters ({', '.join(sorted(set(names)))}); {total} in this field",
                    path=path,
                    span=(s, e),
                    detector="normalize",
                    remediation=_REMEDIATION_INVISIBLE,
                    extra={"count": total},
                )
            )
    return findings


def _legit_joiner(text: str, i: int) -> bool:
    cp = ord(text[i])
    prev = text[i - 1] if i > 0 else ""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if cp == 0xFEFF and i == 0:
        return True  # byte-order mark at the start of a document
    if cp == 0x200D and prev and nxt and (_is_emoji(prev) or prev in "\ufe0f") and _is_emoji(nxt):
        return True
    if cp in (0x200C, 0x200D) and prev and nxt:
        return _in(ord(prev), _JOINING_RANGES) or _in(ord(nxt), _JOINING_RANGES)
    return False


def _ansi_finding(text: str, start: int, end: int, path: str) -> Finding:
    seq = text[start:end]
    extra: dict[str, object] = {"sequence": seq[:200].encode("unicode_escape").decode("ascii")}
    if seq.startswith("\x1b]"):
        body = seq[2:].rstrip("\x07").removesuffix("\x1b\\")
        if body.startswith("8;"):
            rule, msg = "ansi.osc8_hyperlink", "terminal hyperlink (OSC 8) whose target differs from its text"
            extra["url"] = body.split(";", 2)[-1][:500]
        elif body.startswith("52;"):
            rule, msg = "ansi.osc52_clipboard", "terminal escape writes the clipboard (OSC 52)"
        else:
            rule, msg = "ansi.osc", "operating system command escape (OSC)"
        severity = Severity.HIGH
    elif seq.startswith(("\x1b[", "\x9b")):
        final = seq[-1]
        params = seq[2:-1] if seq.startswith("\x1b[") else seq[1:-1]
        if final == "m" and not any(p in ("8", "08") for p in params.split(";")):
            rule, msg, severity = "ansi.sgr", "terminal colour/style escape", Severity.LOW
        elif final == "m":
            rule, msg, severity = "ansi.conceal", "terminal escape hides the following text", Severity.HIGH
        else:
            rule, msg, severity = (
                "ansi.csi",
                "terminal control escape (cursor movement or erase)",
                Severity.HIGH,
            )
    else:
        rule, msg, severity = "ansi.escape", "terminal escape character", Severity.MEDIUM
    return Finding(
        category="hidden_unicode",
        rule=rule,
        severity=severity,
        message=msg,
        path=path,
        span=(start, end),
        detector="normalize",
        remediation=_REMEDIATION_ANSI,
        extra=extra,
    )

"""Precise checks that confirm or reject a candidate match found by a rule's pattern.

Patterns find things shaped like a credential or an identifier; validators decide whether
the thing is real: checksums (Luhn, IBAN mod-97, GitHub's CRC32, Korean resident numbers),
value ranges (SSN areas, IP scopes), structure (a JWT header that decodes to JSON), entropy,
and rejection of placeholders and documented example values.

Every validator has the signature ``(value, ctx, arg) -> bool`` where ``value`` is the
captured text, ``ctx`` the surrounding field and span, and ``arg`` the parameter given in
the rule pack (``None`` when the pack names the validator without one). Validators are pure
and bounded: they look at the value and a fixed window around it only.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class Context:
    """Where a candidate sits: the whole field text and the candidate's span in it."""

    text: str
    start: int
    end: int

    def before(self, n: int) -> str:
        return self.text[max(0, self.start - n) : self.start]

    def after(self, n: int) -> str:
        return self.text[self.end : self.end + n]


Validator = Callable[[str, Context, Any], bool]
REGISTRY: dict[str, Validator] = {}
# Validators that look at the surroundings (``ctx``), not only at the value. A rule whose
# checks are all outside this set gives the same verdict for the same value anywhere, so
# the engine decides a repeated value once per message.
CONTEXTUAL = frozenset({"context", "not_context", "email", "krrn", "not_dotted_run", "not_version"})


def validator(name: str) -> Callable[[Validator], Validator]:
    def register(fn: Validator) -> Validator:
        REGISTRY[name] = fn
        return fn

    return register


# --- entropy and placeholders ----------------------------------------------------------


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value`` (0 for the empty string)."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


@validator("entropy")
def _entropy(value: str, ctx: Context, arg: Any) -> bool:
    return shannon_entropy(value) >= float(arg if arg is not None else 3.0)


@validator("min_len")
def _min_len(value: str, ctx: Context, arg: Any) -> bool:
    return len(value) >= int(arg)


@validator("max_len")
def _max_len(value: str, ctx: Context, arg: Any) -> bool:
    return len(value) <= int(arg)


@validator("mixed")
def _mixed(value: str, ctx: Context, arg: Any) -> bool:
    """At least ``arg`` (default 2) of: lower case, upper case, digits."""
    kinds = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    return kinds >= int(arg if arg is not None else 2)


_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@validator("random_token")
def _random_token(value: str, ctx: Context, arg: Any) -> bool:
    """A value that looks generated rather than written, judged against its own alphabet.

    Hex digits carry at most 4 bits each, so a random 32-digit hex key scores about 3.6
    bits per character and a 3.7 threshold misses half of them; hex values need 3.0 and
    both digits and letters, other values 3.5 (less when shorter than 21 characters, which
    cannot show more than log2(n) bits each) and two kinds of character (``mixed``). A
    UUID counts only in version 4, the random one.
    """
    if len(value) < 12:
        return False
    if _UUID.fullmatch(value):
        return value[14] == "4"  # only random (version 4) UUIDs; time- and name-based ones identify things
    if _HEX.fullmatch(value):
        return (len(value) >= 16 and shannon_entropy(value) >= 3.0
                and any(c.isdigit() for c in value) and any(c.isalpha() for c in value))
    # n characters can show at most log2(n) bits each: short random values need less.
    return shannon_entropy(value) >= min(3.5, 0.8 * math.log2(len(value))) and _mixed(value, ctx, 2)


@validator("has_digit")
def _has_digit(value: str, ctx: Context, arg: Any) -> bool:
    return any(c.isdigit() for c in value)


# Words that mark a value as a stand-in written by a human, not a credential.
_PLACEHOLDER_WORDS = re.compile(
    r"example|sample|dummy|placeholder|changeme|change[_-]me|your[_-]?(?:own[_-]?)?"
    r"(?:api[_-]?)?(?:key|token|secret|pass|password|id)|replace[_-]?me|insert[_-]?|redacted"
    r"|notreal|not[_-]a[_-]real|fake[_-]?(?:key|token|secret)|mysecret|secret[_-]?here|key[_-]?here"
    r"|token[_-]?here|password[_-]?here|todo|fixme|lorem|ipsum|foobar|somekey|some[_-]?token"
    r"|abcdefgh|abc123|qwerty|letmein|hunter2|s3cr3t|passw0rd|p@ssw0rd",
    re.IGNORECASE,
)
# Template syntax: the value is a reference to a secret, not the secret.
_TEMPLATE = re.compile(r"\$\{|\{\{|\}\}|<[^<>]{0,40}>|%\(|%s\b|^\$[A-Za-z_]|^%[A-Za-z_]+%$|\*{3,}|\.\.\.|…")
_SEQUENCES = ("0123456789", "1234567890", "abcdefghijklmnopqrstuvwxyz", "9876543210")


def is_masked(value: str) -> bool:
    """The value is mostly ``x``/``X``/``*``/``#`` masking (a redacted or placeholder body)."""
    if not ("x" in value or "X" in value or "*" in value or "#" in value):
        return False
    alnum = [c for c in value if c.isalnum() or c in "*#"]
    if len(alnum) < 4:
        return False
    masked = sum(1 for c in alnum if c in "xX*#")
    return masked * 10 >= len(alnum) * 6


def _low_variety(value: str) -> bool:
    core = [c for c in value if c.isalnum()]
    if len(core) < 6:
        return False
    distinct = len(set(core))
    return distinct <= 2 or (len(core) >= 16 and distinct <= 4)


def _sequential(value: str) -> bool:
    low = value.lower()
    return any(seq[:8] in low for seq in _SEQUENCES)


def placeholder_reason(value: str) -> str | None:
    """Why ``value`` looks like a placeholder, or ``None`` when it looks like a real value."""
    if _TEMPLATE.search(value):
        return "template"
    if _PLACEHOLDER_WORDS.search(value):
        return "word"
    if _sequential(value):
        return "sequence"
    if _low_variety(value) and not is_masked(value):
        return "repetition"
    return None


@validator("not_placeholder")
def _not_placeholder(value: str, ctx: Context, arg: Any) -> bool:
    """Reject template references, stand-in words, counting sequences, one-letter runs.

    ``arg == "strict"`` also rejects x-masked values (``sk_live_xxxx``); without it masked
    values pass here and the engine downgrades them (see ``Rule.masked``).
    """
    if placeholder_reason(value) is not None:
        return False
    if arg == "strict":
        # Generic assignments: a value that names what it stands for is a stand-in.
        return not is_masked(value) and not _SELF_NAMING.search(value)
    return True


_SELF_NAMING = re.compile(r"passw|secret|token|api_?key|credential|private_?key", re.IGNORECASE)


# Values published in vendor documentation as examples. They are everywhere in READMEs,
# tests and tutorials, and are not credentials of anyone.
DOCUMENTED_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "AKIAI44QH8DHBEXAMPLE",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "pk_test_TYooMQauvdEDq54NiTphI7jx",
        "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
        "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
        "xoxb-not-a-real-token-this-will-not-work",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
        "4111111111111111",
        "4242424242424242",
        "5555555555554444",
        "378282246310005",
        "GB82WEST12345698765432",
        "DE89370400440532013000",
    }
)


@validator("not_example")
def _not_example(value: str, ctx: Context, arg: Any) -> bool:
    if value in DOCUMENTED_EXAMPLES:
        return False
    return not value.upper().endswith("EXAMPLE") and "EXAMPLEKEY" not in value.upper()


# --- context words ---------------------------------------------------------------------


@validator("context")
def _context(value: str, ctx: Context, arg: Any) -> bool:
    """Some of ``arg["words"]`` appear within ``arg["before"]`` chars before (default 48)."""
    words = [w.lower() for w in arg["words"]]
    window = ctx.before(int(arg.get("before", 48))).lower()
    if arg.get("after"):
        window += " " + ctx.after(int(arg["after"])).lower()
    return any(w in window for w in words)


@validator("not_context")
def _not_context(value: str, ctx: Context, arg: Any) -> bool:
    words = [w.lower() for w in arg["words"]]
    window = ctx.before(int(arg.get("before", 32))).lower() + " " + ctx.after(int(arg.get("after", 0))).lower()
    return not any(w in window for w in words)


# --- checksums -------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_CARD_BRANDS: tuple[tuple[str, tuple[int, ...], tuple[tuple[int, int], ...]], ...] = (
    ("visa", (13, 16, 19), ((4, 4),)),
    ("mastercard", (16,), ((51, 55), (2221, 2720))),
    ("amex", (15,), ((34, 34), (37, 37))),
    ("discover", (16, 19), ((6011, 6011), (644, 649), (65, 65), (622126, 622925))),
    ("jcb", (16, 17, 18, 19), ((3528, 3589),)),
    ("diners", (14, 16, 19), ((300, 305), (36, 36), (38, 39))),
    ("unionpay", (16, 17, 18, 19), ((62, 62),)),
    ("maestro", (12, 13, 14, 15, 16, 17, 18, 19), ((5018, 5018), (5020, 5020), (5038, 5038), (6304, 6304), (6759, 6759), (6761, 6763))),
    ("mir", (16, 17, 18, 19), ((2200, 2204),)),
)


def card_brand(digits: str) -> str | None:
    """The card network whose IIN ranges and lengths fit ``digits``, if any."""
    for brand, lengths, ranges in _CARD_BRANDS:
        if len(digits) not in lengths:
            continue
        for lo, hi in ranges:
            width = len(str(lo))
            prefix = int(digits[:width])
            if lo <= prefix <= hi:
                return brand
    return None


@validator("card")
def _card(value: str, ctx: Context, arg: Any) -> bool:
    digits = re.sub(r"[ -]", "", value)
    if not digits.isdigit() or not luhn_ok(digits) or card_brand(digits) is None:
        return False
    # Separators must be consistent: 4111 1111-1111 1111 is not how cards are written.
    seps = {c for c in value if c in " -"}
    if len(seps) > 1:
        return False
    return len(set(digits[1:])) > 2 and digits not in DOCUMENTED_EXAMPLES


_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}


def iban_ok(value: str) -> bool:
    iban = re.sub(r"[ -]", "", value).upper()
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    moved = iban[4:] + iban[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in moved))
    except ValueError:
        return False
    return number % 97 == 1


@validator("iban")
def _iban(value: str, ctx: Context, arg: Any) -> bool:
    return iban_ok(value) and re.sub(r"[ -]", "", value).upper() not in DOCUMENTED_EXAMPLES


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")


@validator("github_crc32")
def _github_crc32(value: str, ctx: Context, arg: Any) -> bool:
    """GitHub tokens end in 6 base62 characters: the CRC32 of the 30 random characters."""
    _, _, body = value.partition("_")
    if value.startswith("github_pat_"):
        return True  # fine-grained tokens carry no public checksum
    if len(body) != 36:
        return False
    return _base62(zlib.crc32(body[:30].encode("ascii")), 6) == body[30:]


@validator("not_github_crc32")
def _not_github_crc32(value: str, ctx: Context, arg: Any) -> bool:
    """A classic GitHub token whose checksum fails (a fake, a fixture or a mangled copy)."""
    return not value.startswith("github_pat_") and not _github_crc32(value, ctx, arg)


# --- identifiers -----------------------------------------------------------------------


@validator("ssn")
def _ssn(value: str, ctx: Context, arg: Any) -> bool:
    digits = re.sub(r"[ -]", "", value)
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    if area == 0 or area == 666 or area >= 900 or group == 0 or serial == 0:
        return False
    # Numbers published as examples (the Woolworth wallet card, advertising ranges).
    return digits not in {"078051120", "219099999", "123456789", "111111111", "333333333"} and not (
        987654320 <= int(digits) <= 987654329
    )


def _krrn_date(digits: str) -> bool:
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000,
               "9": 1800, "0": 1800}.get(digits[6])
    if century is None:
        return False
    try:
        date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return False
    return True


def krrn_checksum_ok(digits: str) -> bool:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(int(d) * w for d, w in zip(digits[:12], weights, strict=True))
    return (11 - total % 11) % 10 == int(digits[12])


@validator("krrn")
def _krrn(value: str, ctx: Context, arg: Any) -> bool:
    """A Korean resident registration number: valid birth date and sex digit, and either
    the mod-11 check digit (numbers issued before October 2020) or a nearby label (later
    numbers have a random last digit)."""
    digits = value.replace("-", "").replace(" ", "")
    if len(digits) != 13 or not digits.isdigit() or not _krrn_date(digits):
        return False
    label = ctx.before(40).lower()
    labelled = any(w in label for w in ("주민", "등록번호", "resident", "rrn", "jumin"))
    if not any(c in value for c in "- "):
        return labelled and krrn_checksum_ok(digits)  # bare 13-digit numbers are often ids
    return labelled or krrn_checksum_ok(digits)


@validator("ip_public")
def _ip_public(value: str, ctx: Context, arg: Any) -> bool:
    """Only globally routable addresses count (private, loopback, link-local, documentation,
    multicast and reserved ranges are configuration, not personal data)."""
    try:
        addr = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv4Address):
        parts = value.split(".")
        if any(len(p) > 1 and p.startswith("0") for p in parts):
            return False  # zero-padded octets are version numbers and OIDs, not addresses
    return addr.is_global and not addr.is_multicast


@validator("not_version")
def _not_version(value: str, ctx: Context, arg: Any) -> bool:
    """Dotted numbers right after 'version', 'v' or inside a dependency spec are versions."""
    before = ctx.before(12).lower()
    return not re.search(r"(?:version|ver\.?|v|release|==|>=|<=|~=|@|\^|~)\s*[:=]?\s*$", before)


# --- structured tokens -----------------------------------------------------------------


def _b64url_json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded)
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


@validator("jwt")
def _jwt(value: str, ctx: Context, arg: Any) -> bool:
    """Header and payload decode to JSON objects, and the header names an algorithm or type."""
    parts = value.split(".")
    if len(parts) < 2:
        return False
    header = _b64url_json(parts[0])
    if not isinstance(header, dict) or not ({"alg", "typ", "enc", "kid"} & header.keys()):
        return False
    payload = _b64url_json(parts[1])
    return isinstance(payload, dict) or (len(parts) == 5 and "enc" in header)


@validator("base64_text")
def _base64_text(value: str, ctx: Context, arg: Any) -> bool:
    """The value is base64 (standard or URL-safe) and decodes to something."""
    padded = value + "=" * (-len(value) % 4)
    try:
        return len(base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)) > 0
    except (binascii.Error, ValueError):
        return False


@validator("hex_text")
def _hex_text(value: str, ctx: Context, arg: Any) -> bool:
    """Hex-encoded data that decodes to mostly printable ASCII (DNS exfiltration labels)."""
    if len(value) % 2:
        value = value[:-1]
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return False
    printable = sum(1 for b in raw if 32 <= b < 127)
    return len(raw) >= 6 and printable * 10 >= len(raw) * 8


@validator("url_secret_password")
def _url_password(value: str, ctx: Context, arg: Any) -> bool:
    """The password part of ``scheme://user:password@host`` is a real value."""
    low = value.lower()
    if low in {"password", "pass", "passwd", "pwd", "secret", "pw", "x", "user", "username", "token"}:
        return False
    # "postgres:postgres@localhost", "root:root@127.0.0.1": a throwaway default on a local
    # host (CI service containers, docker-compose files), not a credential of any system
    user = ctx.before(len(value) + 2).rsplit("/", 1)[-1].rstrip(":")
    host = ctx.after(64).lstrip("@").split(":", 1)[0].split("/", 1)[0].lower()
    if low == user.lower() and host in ("localhost", "127.0.0.1", "0.0.0.0", "::1", "db", "postgres", "mysql", "redis"):
        return False
    return placeholder_reason(value) is None and not is_masked(value)


def run(name: str, value: str, ctx: Context, arg: Any) -> bool:
    try:
        fn = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown validator {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
    return fn(value, ctx, arg)


@validator("basic_auth_b64")
def _basic_auth_b64(value: str, ctx: Context, arg: Any) -> bool:
    """Base64 of ``user:password`` with a password that is not a placeholder."""
    padded = value + "=" * (-len(value) % 4)
    try:
        decoded = base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    _user, sep, password = decoded.partition(":")
    if not sep or not password or not decoded.isprintable():
        return False
    return _url_password(password, ctx, None)


@validator("not_identifier")
def _not_identifier(value: str, ctx: Context, arg: Any) -> bool:
    """Reject names from code (``refreshTokenExpired``, ``settings.api_key``, ``MY_API_KEY``):
    values with no digit made only of letters and separators."""
    if any(c.isdigit() for c in value):
        return True
    return not re.fullmatch(r"[A-Za-z]+(?:[_.\-/][A-Za-z]+)*", value)


@validator("not_reference")
def _not_reference(value: str, ctx: Context, arg: Any) -> bool:
    """Reject values that name another value instead of being one: attribute paths
    (``settings.DB_PASSWORD2``, ``os.environ.TOKEN``) and constant names (``DB_PASS_V2``)."""
    if re.fullmatch(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+", value):
        return False
    return not re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+", value)


# --- personal data ---------------------------------------------------------------------

# Reserved for documentation (RFC 2606 / 6761) or not a mailbox of a person.
_EMAIL_RESERVED_DOMAINS = re.compile(
    r"(?:^|\.)(?:example\.(?:com|org|net|edu)|example|test|invalid|localhost|local|domain\.com|email\.com"
    r"|company\.com|yourdomain\.com|mydomain\.com|acme\.com|foo\.com|bar\.com|users\.noreply\.github\.com)$",
    re.IGNORECASE,
)
_FILE_EXTENSIONS = frozenset(
    ["png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "tif", "tiff", "js", "mjs", "cjs", "ts", "tsx", "jsx", "css", "scss", "map", "json", "yaml", "yml", "toml", "md", "txt", "html", "htm", "xml", "py", "rb", "go", "rs", "java", "kt", "swift", "c", "h", "cpp", "hpp", "cs", "php", "sh", "lock", "zip", "gz", "tar", "whl", "pdf", "mp3", "mp4", "wav", "woff", "woff2", "ttf"]
)
_ROLE_LOCAL_PARTS = frozenset({"git", "noreply", "no-reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster"})


@validator("email")
def _email(value: str, ctx: Context, arg: Any) -> bool:
    local, _, domain = value.rpartition("@")
    tld = domain.rsplit(".", 1)[-1].lower()
    if tld in _FILE_EXTENSIONS or _EMAIL_RESERVED_DOMAINS.search(domain):
        return False
    if local.lower() in _ROLE_LOCAL_PARTS or placeholder_reason(local) == "template":
        return False
    # user@host:path in git/ssh URLs and @scope/package names are not addresses.
    return not (ctx.after(1) in (":", "/") and "." in domain)


@validator("phone")
def _phone(value: str, ctx: Context, arg: Any) -> bool:
    digits = re.sub(r"\D", "", value)
    lo, hi = (arg or [8, 15]) if isinstance(arg, list) else (8, 15)
    if not lo <= len(digits) <= hi or len(set(digits)) <= 2:
        return False
    return not _sequential(digits)


@validator("nanp")
def _nanp(value: str, ctx: Context, arg: Any) -> bool:
    """A North American number: valid area code and exchange, not the fictional 555-01xx."""
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01" or digits[3] in "01" or digits[1:3] == "11":
        return False
    if digits[3:6] == "555" and digits[6:8] == "01":
        return False
    return not _sequential(digits) and len(set(digits)) > 3


@validator("kr_phone")
def _kr_phone(value: str, ctx: Context, arg: Any) -> bool:
    digits = re.sub(r"\D", "", value)
    if digits.startswith("82"):
        digits = "0" + digits[2:]
    return 10 <= len(digits) <= 11 and len(set(digits[3:])) > 2 and not _sequential(digits)


@validator("not_dotted_run")
def _not_dotted_run(value: str, ctx: Context, arg: Any) -> bool:
    """Not part of a longer dotted number (versions, OIDs): ``1.2.3.4.5``."""
    before, after = ctx.before(2), ctx.after(2)
    if before.endswith(".") or (before[-1:].isdigit()):
        return False
    return not (after[:1] == "." and after[1:2].isdigit())


# --- commands and exfiltration ----------------------------------------------------------


@validator("rm_recursive_force")
def _rm_recursive_force(value: str, ctx: Context, arg: Any) -> bool:
    flags = "".join(re.findall(r"(?<![\w-])-([A-Za-z]+)", value))
    longs = re.findall(r"--([a-z-]+)", value)
    recursive = "r" in flags or "R" in flags or "recursive" in longs
    force = "f" in flags or "force" in longs or "no-preserve-root" in longs
    return recursive and force


_BENIGN_IMAGE_HOSTS = re.compile(
    r"(?:^|\.)(?:shields\.io|badge\.fury\.io|badgen\.net|travis-ci\.(?:org|com)|codecov\.io|coveralls\.io"
    r"|circleci\.com|github\.com|githubusercontent\.com|readthedocs\.org|pepy\.tech|codacy\.com"
    r"|sonarcloud\.io|gitlab\.com|star-history\.com|deepwiki\.com|app\.netlify\.com|vercel\.com|mermaid\.ink"
    r"|googleapis\.com|gstatic\.com|gravatar\.com|wikimedia\.org|unsplash\.com)$",
    re.IGNORECASE,
)
_DATA_PARAM = re.compile(
    r"(?:[?&](?:data|d|q|c|content|payload|secret|token|key|apikey|api_key|password|pass|pwd|session|cookie|conv"
    r"|conversation|history|chat|msg|message|prompt|context|memory|info|leak|exfil|env|creds?|credentials)=)"
    r"|=(?:secret|token|password|apikey|api_key|creds?|ssn|session)\b"
    r"|\{[^{}]{1,40}\}|\$\{?[A-Z_]{2,}|\[[A-Z_ ]{3,40}\]|<[A-Z_ ]{3,40}>",
    re.IGNORECASE,
)
_LONG_VALUE = re.compile(r"=[A-Za-z0-9+/_%.=-]{24,}")


@validator("exfil_url")
def _exfil_url(value: str, ctx: Context, arg: Any) -> bool:
    """A URL to an external host whose query carries data: a long encoded value, a
    parameter named like conversation data, or a template slot for the model to fill."""
    m = re.search(r"https?://([^/\s)?#\"'<>]{1,253})", value, re.IGNORECASE)
    if not m:
        return False
    host = m.group(1).rsplit("@", 1)[-1].split(":", 1)[0].lower()
    if host in ("localhost", "127.0.0.1", "::1") or host.endswith((".local", ".internal", ".localhost")):
        return False
    if _BENIGN_IMAGE_HOSTS.search(host):
        return False
    query = value[m.end():]
    return bool(_DATA_PARAM.search(query) or _LONG_VALUE.search(query))


_B32 = re.compile(r"[a-z2-7]{16,}", re.IGNORECASE)


@validator("dns_exfil")
def _dns_exfil(value: str, ctx: Context, arg: Any) -> bool:
    """The leading DNS label(s) hold encoded data: hex or base32 of readable bytes, or a
    long high-entropy label (base64url/base36 data)."""
    labels = value.split(".")[:-2]
    data = "".join(labels).replace("-", "")
    if len(data) < 24:
        return False
    if re.fullmatch(r"[0-9a-fA-F]+", data) and _hex_text(data, ctx, None):
        return True
    if _B32.fullmatch(data):
        padded = data.upper() + "=" * (-len(data) % 8)
        try:
            raw = base64.b32decode(padded)
        except (binascii.Error, ValueError):
            raw = b""
        if raw and sum(1 for b in raw if 32 <= b < 127) * 10 >= len(raw) * 9:
            return True
    longest = max(labels, key=len)
    if _DNS_BENIGN.search(value):
        return False
    # A long random hex label is data (a hash or an encrypted chunk), not a name.
    if len(longest) >= 24 and re.fullmatch(r"[0-9a-fA-F]+", longest) and shannon_entropy(longest) >= 3.2:
        return True
    return len(longest) >= 40 and shannon_entropy(longest) >= 4.2 and _mixed(longest, ctx, 2)


# Providers whose host names embed account ids or hashes by design.
_DNS_BENIGN = re.compile(
    r"\.(?:amazonaws\.com|cloudflarestorage\.com|cloudfront\.net|azurewebsites\.net|windows\.net|azure\.com"
    r"|googleusercontent\.com|appspot\.com|run\.app|vercel\.app|netlify\.app|herokuapp\.com|pages\.dev"
    r"|workers\.dev|supabase\.co|firebaseio\.com|web\.app|ngrok\.io|github\.io|gitpod\.io|onion)$",
    re.IGNORECASE,
)

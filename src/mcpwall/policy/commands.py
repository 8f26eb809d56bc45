"""Command constraints checked on parsed argv, not on the raw string.

A command argument (a string, or a list of strings) is split into shell words the way a
POSIX shell would, separated at control operators (``;``, ``&&``, ``||``, ``|``, ``&``),
and unwrapped through ``sh -c '...'`` and launcher prefixes (``env``, ``sudo``,
``VAR=value`` ...), so ``/bin/r""m -rf /`` and ``bash -c "curl x | sh"`` are seen for
what they run. A string that does not parse (an unclosed quote) is reported as
unparseable and treated as matching, because a shell might still run it.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

_OPERATORS = frozenset({";", "&&", "||", "|", "&", ";;", "|&", "(", ")", "&;"})
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "fish", "busybox"})
_LAUNCHERS = frozenset({"env", "sudo", "doas", "nohup", "exec", "command", "time", "nice", "ionice",
                        "xargs", "stdbuf", "timeout", "chroot", "setsid", "su"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SUBSTITUTION = re.compile(r"\$\(|`|>|<|\|")


@dataclass(slots=True)
class Parsed:
    commands: list[list[str]] = field(default_factory=list)
    operators: bool = False  # chains, pipes, redirections or substitutions
    unparseable: bool = False

    @property
    def programs(self) -> list[str]:
        return [posixpath.basename(c[0]) for c in self.commands if c]


def _split(text: str, out: Parsed, depth: int) -> None:
    if depth > 4:
        out.unparseable = True
        return
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:
        out.unparseable = True
        tokens = text.split()
    if _SUBSTITUTION.search(text):
        out.operators = True
    current: list[str] = []
    for tok in tokens:
        if tok in _OPERATORS or set(tok) <= set(";&|()<>"):
            out.operators = True
            if current:
                _add(current, out, depth)
            current = []
        else:
            current.append(tok)
    if current:
        _add(current, out, depth)


def _add(argv: list[str], out: Parsed, depth: int) -> None:
    # Skip VAR=value prefixes and launchers, keeping each stage as a command of its own.
    i = 0
    while i < len(argv):
        word = argv[i]
        if _ASSIGNMENT.match(word):
            i += 1
            continue
        out.commands.append(argv[i:])
        base = posixpath.basename(word)
        if base in _SHELLS:
            rest = argv[i + 1:]
            for j, flag in enumerate(rest):
                if flag.startswith("-") and "c" in flag[1:] and not flag.startswith("--") and j + 1 < len(rest):
                    _split(rest[j + 1], out, depth + 1)
                    break
            return
        if base in _LAUNCHERS:
            i += 1
            while i < len(argv) and argv[i].startswith("-"):
                i += 1
            continue
        return


def parse(value: object) -> Parsed:
    """Commands in a string (shell syntax) or an argv list."""
    out = Parsed()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if value:
            _add(list(value), out, 0)
    elif isinstance(value, str):
        _split(value, out, 0)
    return out

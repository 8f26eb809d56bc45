"""Path constraints checked on canonical paths, so ``..``, symlinks and spelling tricks cannot
walk out of (or around) a directory.

A path argument is turned into every form it could mean: ``file://`` URIs decoded, ``~``
expanded, backslashes read as separators (a Windows server would), made absolute against a
root, ``..`` resolved lexically, and — where the file system can tell — symlinks resolved.
Containment is decided on whole path components (``/srv/data2`` is not inside
``/srv/data``), never with a string prefix test. A path that cannot be read as one (a NUL
byte, an undecodable URI) counts as outside every directory and inside every one, so both
kinds of constraint treat it as suspect.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import unquote, urlsplit


class Unreadable(ValueError):
    """The value cannot be understood as a path."""


def _text(value: str) -> str:
    if "\x00" in value:
        raise Unreadable("NUL byte in path")
    if value[:7].lower() == "file://":
        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost"):
            raise Unreadable("file URI with a remote host")
        value = unquote(parts.path)
        if "\x00" in value:
            raise Unreadable("NUL byte in path")
    return value.replace("\\", "/")


def forms(value: str, root: str) -> tuple[str, ...]:
    """The canonical forms of a path: lexical, and with symlinks resolved when it differs."""
    text = _text(value)
    if text.startswith("~"):
        text = os.path.expanduser(text)
    if not text.startswith("/"):
        text = posixpath.join(root, text)
    # normpath keeps a leading "//" (POSIX allows it to mean something else); we do not.
    lexical = posixpath.normpath("/" + text.lstrip("/"))
    try:
        # realpath walks component by component, resolving a symlink before a following
        # "..", the way the kernel does; lexical resolution alone would not.
        real = os.path.realpath("/" + text.lstrip("/"))
    except (OSError, ValueError):
        real = lexical
    real = posixpath.normpath(real)
    return (lexical,) if real == lexical else (lexical, real)


@lru_cache(maxsize=256)
def directory_forms(directory: str) -> tuple[str, ...]:
    text = os.path.expanduser(directory).replace("\\", "/")
    lexical = posixpath.normpath("/" + text.lstrip("/"))
    real = posixpath.normpath(os.path.realpath(lexical))
    return (lexical,) if real == lexical else (lexical, real)


def within(path: str, directory: str) -> bool:
    """Component-wise containment (both canonical and absolute)."""
    if directory == "/":
        return True
    return path == directory or path.startswith(directory + "/")


def inside_any(value: str, directories: Iterable[str], root: str) -> bool:
    """True when some form of the path lies inside one of the directories."""
    try:
        fs = forms(value, root)
    except Unreadable:
        return True
    dirs = [d for raw in directories for d in directory_forms(raw)]
    return any(within(f, d) for f in fs for d in dirs)


def outside_all(value: str, directories: Iterable[str], root: str) -> bool:
    """True when some form of the path lies outside every directory."""
    try:
        fs = forms(value, root)
    except Unreadable:
        return True
    dirs = [d for raw in directories for d in directory_forms(raw)]
    return any(not any(within(f, d) for d in dirs) for f in fs)

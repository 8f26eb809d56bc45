"""A byte-recording stdio shim: run a command and keep an exact copy of both directions.

    python tests/servers/tee.py --log DIR -- COMMAND [ARGS...]

The shim spawns COMMAND (no shell), copies its own stdin to the command's stdin and
the command's stdout to its own stdout, byte for byte, and appends every chunk to
``DIR/stdin.bin`` (what COMMAND received) and ``DIR/stdout.bin`` (what COMMAND
wrote) as it passes, flushed per chunk.  stderr is inherited.  It exits with the
command's exit code.  Tests put one shim on each side of ``mcpwall wrap`` to prove
that the bytes a server receives are the bytes its client sent.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 16
FORWARDED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def pump(source_fd: int, sink_fd: int, log: BinaryIO, on_eof: Callable[[], None] | None) -> None:
    """Copy ``source_fd`` to ``sink_fd`` and ``log`` until EOF (or until the sink goes away)."""
    try:
        while True:
            chunk = os.read(source_fd, CHUNK)
            if not chunk:
                break
            # Log first: a byte in the log is a byte the shim received, whether or not
            # the other side is still there to take it.
            log.write(chunk)
            write_all(sink_fd, chunk)
    except (ValueError, OSError):
        pass
    finally:
        if on_eof is not None:
            with contextlib.suppress(OSError):
                on_eof()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run COMMAND and record its stdin and stdout bytes.")
    parser.add_argument("--log", required=True, type=Path, help="directory for stdin.bin and stdout.bin")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    options = parser.parse_args(argv)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if not command:
        parser.error("a command is required after --")

    options.log.mkdir(parents=True, exist_ok=True)
    # Unbuffered files: every chunk reaches the OS as soon as it is seen.
    stdin_log = open(options.log / "stdin.bin", "ab", buffering=0)  # noqa: SIM115
    stdout_log = open(options.log / "stdout.bin", "ab", buffering=0)  # noqa: SIM115

    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert child.stdin is not None and child.stdout is not None

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, lambda received, _frame: child.send_signal(received))

    # The stdin pump may stay blocked in read() after the child is gone, so it must
    # not keep the shim alive.
    to_child = threading.Thread(
        target=pump,
        args=(sys.stdin.fileno(), child.stdin.fileno(), stdin_log, child.stdin.close),
        daemon=True,
    )
    from_child = threading.Thread(
        target=pump, args=(child.stdout.fileno(), sys.stdout.fileno(), stdout_log, None)
    )
    to_child.start()
    from_child.start()

    code = child.wait()
    from_child.join()
    stdin_log.close()
    stdout_log.close()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())

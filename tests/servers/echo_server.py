"""A minimal raw stdio JSON-RPC server for relay tests and benchmarks.

It answers every request with ``{"echo": params, "method": method}``, ignores
notifications, and, when ECHO_LOG names a file, appends every line it receives to it
(byte-exact) so tests can prove what reached the server. It is deliberately not an SDK
server: it must accept whatever the relay forwards without normalising it.
"""

import json
import os
import sys


def main() -> None:
    log_path = os.environ.get("ECHO_LOG")
    log = open(log_path, "ab", buffering=0) if log_path else None  # noqa: SIM115
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if log:
            log.write(line)
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        items = msg if isinstance(msg, list) else [msg]
        replies = []
        for m in items:
            if isinstance(m, dict) and "method" in m and "id" in m:
                if m["method"] == "exit":
                    sys.exit(int(m.get("params", {}).get("code", 0)))
                replies.append(
                    {
                        "jsonrpc": "2.0",
                        "id": m["id"],
                        "result": {"echo": m.get("params"), "method": m["method"]},
                    }
                )
        if not replies:
            continue
        body = replies if isinstance(msg, list) else replies[0]
        out.write(json.dumps(body, separators=(",", ":")).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()

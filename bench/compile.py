"""Cold compile time of the detection databases, and the slowest injection expressions.

A first start of mcpwall (or a changed rule pack) compiles the Hyperscan databases before
the first message is relayed; they are cached afterwards. One expression can make that take
minutes (a wide negated-class gap in UTF-8 mode compiled for 75 s before it was split), so
a rule change should be checked here.

    python bench/compile.py [--top N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--top", type=int, default=8, help="how many of the slowest injection expressions to list")
    args = ap.parse_args()
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="mcpwall-compile-")  # nothing cached
    import hyperscan as hs

    from mcpwall.detect import injection
    from mcpwall.detect.engine import Engine
    from mcpwall.detect.scanner import Scanner

    t = time.perf_counter()
    engine = Engine.from_packs(cache=False)
    t_engine = time.perf_counter() - t
    t = time.perf_counter()
    Scanner(engine)
    t_scanner = time.perf_counter() - t
    t = time.perf_counter()
    injection._CANDIDATES._build()
    t_injection = time.perf_counter() - t
    print(f"pattern engine {t_engine:.1f} s, scanner with frame prefilter {t_scanner:.1f} s, "
          f"injection database {t_injection:.1f} s (cold, nothing cached)")
    timings = []
    for i, (expr, flags) in enumerate(injection._CANDIDATES.expressions()):
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        t = time.perf_counter()
        db.compile(expressions=[expr], ids=[0], flags=[flags])
        timings.append((time.perf_counter() - t, i, expr))
    timings.sort(reverse=True)
    print(f"{len(timings)} injection expressions, {sum(x[0] for x in timings):.1f} s compiled one by one; slowest:")
    for seconds, i, expr in timings[: args.top]:
        print(f"  {seconds:6.2f} s  #{i}  {expr[:90].decode('utf-8', 'replace')}")


if __name__ == "__main__":
    main()

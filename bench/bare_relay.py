"""A bare stdio line relay that parses nothing: the cost of one extra hop, for comparison.

Usage: python bench/bare_relay.py COMMAND ARGS...  (relays our stdio to the child's, line by line)
"""

from __future__ import annotations

import asyncio
import os
import sys


async def main(argv: list[str]) -> int:
    loop = asyncio.get_running_loop()
    child = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 26
    )
    reader = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", 0, closefd=False))
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(1, "wb", 0, closefd=False)
    )
    out = asyncio.StreamWriter(transport, protocol, None, loop)
    assert child.stdin is not None and child.stdout is not None
    child_in, child_out = child.stdin, child.stdout

    async def c2s() -> None:
        while line := await reader.readline():
            child_in.write(line)
            await child_in.drain()
        child_in.close()

    async def s2c() -> None:
        while line := await child_out.readline():
            out.write(line)
            await out.drain()

    await asyncio.gather(c2s(), s2c())
    return await child.wait()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))

"""Warm stdio children for stateless (2026-07-28) requests behind an HTTP front.

A real child (tests/servers/echo_server.py) behind a real relay: a lease borrows a child,
the request goes through mcpwall's pipeline to it and back, and once answered the child
goes back to the pool for the caller's next request. Never across callers, never while a
request of the lease is still waiting, and never a dead child.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mcpwall.app import App
from mcpwall.config import ChildSettings, Settings
from mcpwall.frame import Direction, Frame, decode
from mcpwall.relay import Outgoing
from mcpwall.transports.bridge import ChildPool, PooledChild

ECHO = [sys.executable, str(Path(__file__).resolve().parents[1] / "servers" / "echo_server.py")]


class Client:
    """The client side of a relay: collects what mcpwall sends back."""

    def __init__(self) -> None:
        self.got: asyncio.Queue[bytes] = asyncio.Queue()

    async def send(self, out: Outgoing) -> None:
        await self.got.put(out.data)


@pytest.fixture
async def setup() -> AsyncIterator[tuple[App, ChildPool]]:
    app = App(Settings.model_validate({"audit": {"enabled": False}}))
    p = ChildPool(ECHO, {}, ChildSettings(stdin_close_grace=1.0, term_grace=1.0), 1 << 20, idle_per_owner=1)
    try:
        yield app, p
    finally:
        await p.close()
        await app.close()


async def borrow(app: App, p: ChildPool, owner: str) -> tuple[PooledChild, Any, Client]:
    lease = p.lease(owner)
    client = Client()
    relay = app.relay(upstream="echo", client=client, server=lease)
    lease.relay = relay
    await lease.start()
    return lease, relay, client


async def call(relay: Any, client: Client, msg_id: int) -> bytes:
    await relay.from_client(b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo"}}' % msg_id)
    return await asyncio.wait_for(client.got.get(), 10)


async def test_an_answered_request_leaves_its_child_warm_for_the_next(setup: tuple[App, ChildPool]) -> None:
    app, p = setup
    lease, relay, client = await borrow(app, p, "alice")
    first = lease.inner
    assert b'"id":1' in await call(relay, client, 1)
    await lease.close()
    lease, relay, client = await borrow(app, p, "alice")
    assert lease.inner is first and p.started == 1  # no second process
    assert b'"id":1' in await call(relay, client, 1)  # the same id again is fine: one request at a time
    await lease.close()
    other, relay, client = await borrow(app, p, "bob")
    assert other.inner is not first and p.started == 2  # never lent across callers
    await other.close()


async def test_a_child_with_a_request_still_in_flight_is_not_lent_again(setup: tuple[App, ChildPool]) -> None:
    app, p = setup
    lease, relay, _client = await borrow(app, p, "alice")
    first = lease.inner
    assert first is not None and first.child is not None
    waiting = decode(b'{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{}}', Direction.C2S)
    assert isinstance(waiting, Frame)
    relay.session.open_request(waiting)  # as if a request were still waiting for its answer
    await lease.close()
    assert first.stale  # stopped, not pooled
    lease, relay, _client = await borrow(app, p, "alice")
    assert lease.inner is not first and p.started == 2
    await lease.close()


async def test_a_dead_child_is_replaced(setup: tuple[App, ChildPool]) -> None:
    app, p = setup
    lease, relay, client = await borrow(app, p, "alice")
    first = lease.inner
    assert first is not None and first.child is not None
    await lease.close()
    first.child.proc.kill()
    await asyncio.wait_for(first.done.wait(), 10)  # the pool's child noticed its end
    lease, relay, client = await borrow(app, p, "alice")
    assert lease.inner is not first and p.started == 2
    assert b'"id":3' in await call(relay, client, 3)
    await lease.close()

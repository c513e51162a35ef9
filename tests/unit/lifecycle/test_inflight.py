"""The in-flight registry: a drain waits for the holds taken before it, not for later ones,
and closes the tenant's long-lived connections."""

from __future__ import annotations

import asyncio

import pytest

from tenantry.tenancy.lifecycle.fence.inflight import ConnectionClosed, InFlight


async def _settled(task: asyncio.Task[None]) -> bool:
    for _ in range(5):  # let every ready callback run
        await asyncio.sleep(0)
    return task.done()


async def test_a_drain_waits_for_the_holds_taken_before_it() -> None:
    inflight = InFlight()
    first, second = inflight.hold("acme"), inflight.hold("acme")
    other = inflight.hold("bigcorp")
    drain = asyncio.create_task(inflight.drain("acme"))
    assert not await _settled(drain)
    first.release()
    assert not await _settled(drain)
    second.release()
    assert await _settled(drain)
    assert (inflight.count("acme"), inflight.count("bigcorp")) == (0, 1)
    other.release()


async def test_holds_taken_after_the_drain_began_do_not_hold_it_back() -> None:
    inflight = InFlight()
    before = inflight.hold("acme")
    drain = asyncio.create_task(inflight.drain("acme"))
    await _settled(drain)
    after = inflight.hold("acme")  # such a request reads the suspended state and is refused
    before.release()
    assert await _settled(drain)
    assert inflight.count("acme") == 1
    after.release()
    assert inflight.count("acme") == 0


async def test_a_drain_with_nothing_in_flight_ends_at_once_and_release_is_idempotent() -> None:
    inflight = InFlight()
    await inflight.drain("acme")
    hold = inflight.hold("acme")
    hold.release()
    hold.release()
    assert inflight.count("acme") == 0
    with inflight.held("acme"):
        assert inflight.count("acme") == 1
    assert inflight.count("acme") == 0


async def test_a_drain_closes_the_tenants_long_lived_connections_only() -> None:
    inflight = InFlight()
    queue: asyncio.Queue[str] = asyncio.Queue()
    ended: list[str] = []

    async def stream(tenant: str) -> None:
        async with inflight.long_lived(tenant) as closing:
            try:
                while True:
                    await closing.race(queue.get())
            except ConnectionClosed:
                ended.append(tenant)

    streams = [asyncio.create_task(stream(t)) for t in ("acme", "bigcorp")]
    await asyncio.sleep(0)
    assert (inflight.count("acme"), inflight.count("bigcorp")) == (1, 1)
    await asyncio.wait_for(inflight.drain("acme"), timeout=5)
    assert ended == ["acme"] and inflight.count("acme") == 0
    assert not streams[1].done()
    streams[1].cancel()
    with pytest.raises(asyncio.CancelledError):
        await streams[1]


async def test_a_connection_opened_while_its_tenant_drains_is_closed_at_once() -> None:
    inflight = InFlight()
    request = inflight.hold("acme")  # the request that will open the connection
    drain = asyncio.create_task(inflight.drain("acme"))
    await _settled(drain)
    async with inflight.long_lived("acme") as closing:
        assert closing.closed
        with pytest.raises(ConnectionClosed):
            await closing.race(asyncio.sleep(60))
    request.release()
    assert await _settled(drain)


async def test_race_returns_the_result_when_it_comes_first() -> None:
    inflight = InFlight()
    async with inflight.long_lived("acme") as closing:
        assert await closing.race(asyncio.sleep(0, result="event")) == "event"
        assert not closing.closed

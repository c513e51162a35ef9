"""A pool round on the in-process bus: places shared between tenant environments, and the place
of a tenant with nothing waiting passed on to the next one."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from tenantry.backends.memory.bus import InProcessBus
from tenantry.core import names
from tenantry.runtime.messaging.ports import Delivery
from tenantry.tenancy.limits.flow_slots import LocalFlowSlots
from tenantry.tenancy.limits.plans import Limits, effective
from tenantry.tenancy.pools.directory import Served
from tenantry.worker.runners.pool import Pool, PoolSettings
from tenantry.worker.runners.processing import ORDER_DELAY, Outcome, Processor

TENANTS = ("ta", "tb", "tc", "td")


class Holding:
    """A processor that keeps every delivery until released (the pool counts it running)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.data: list[bytes] = []
        self.release = asyncio.Event()

    async def handle(self, delivery: Delivery) -> None:
        self.seen.append(
            names.parse_subject(delivery.subject, prefix=names.DEFAULT_SUBJECT_PREFIX)[1]
        )
        self.data.append(delivery.data)
        await self.release.wait()
        await delivery.ack()


def _pool(bus: InProcessBus, processor: Holding, concurrency: int) -> Pool:
    limits = effective(None)

    async def served() -> list[Served]:
        return [Served("shared", tenant, "prod") for tenant in TENANTS]

    async def of(tenant: str) -> Limits:
        return limits

    return Pool(
        "shared",
        bus,
        cast(Processor, processor),
        served,
        of,
        LocalFlowSlots(),
        PoolSettings(concurrency=concurrency),
    )


async def _send(bus: InProcessBus, tenant: str, count: int) -> None:
    for n in range(count):
        subject = names.subject(
            names.Direction.INGRESS, tenant, "prod", None, "webchat", prefix=bus.prefix
        )
        await bus.publish(subject, str(n).encode(), message_id=f"{tenant}-{n}")


async def _settle(pool: Pool, processor: Holding) -> None:
    processor.release.set()
    for _ in range(100):  # a few turns of the loop: handle, release the slot, the done callback
        if not pool.running:
            return
        await asyncio.sleep(0)
    raise AssertionError("the pool's messages did not finish")


async def test_an_empty_tenant_passes_its_place_to_the_next() -> None:
    bus, processor = InProcessBus(), Holding()
    pool = _pool(bus, processor, concurrency=2)
    await pool.refresh()
    await _send(bus, "tc", 1)  # ta and tb, first in turn, have nothing
    await _send(bus, "td", 3)
    assert await pool.round() == 2
    await asyncio.sleep(0)
    assert sorted(processor.seen) == ["tc", "td"]  # one each, not two of td
    await _settle(pool, processor)


async def test_the_next_round_starts_after_the_last_served() -> None:
    bus, processor = InProcessBus(), Holding()
    pool = _pool(bus, processor, concurrency=1)
    await pool.refresh()
    for tenant in TENANTS:
        await _send(bus, tenant, 2)
    order: list[str] = []
    for _ in range(6):
        assert await pool.round() == 1
        await asyncio.sleep(0)
        order.append(processor.seen[-1])
        await _settle(pool, processor)
        processor.release.clear()
    assert order == ["ta", "tb", "tc", "td", "ta", "tb"]


async def test_free_places_are_shared_evenly_and_nothing_is_left_unsettled() -> None:
    bus, processor = InProcessBus(), Holding()
    pool = _pool(bus, processor, concurrency=8)
    await pool.refresh()
    for tenant in TENANTS:
        await _send(bus, tenant, 5)
    assert await pool.round() == 8
    await asyncio.sleep(0)
    assert {t: processor.seen.count(t) for t in TENANTS} == dict.fromkeys(TENANTS, 2)
    await _settle(pool, processor)
    left: list[Any] = []
    for tenant in TENANTS:
        left += await bus.fetch(names.Direction.INGRESS, tenant, "prod", batch=10, wait=0)
    assert len(left) == 12  # 20 sent, 8 processed and acknowledged


class Counting(InProcessBus):
    """The in-process bus, counting the fetches of each tenant."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []

    async def fetch(self, direction: names.Direction, tenant: str, env: str, **kw: Any) -> Any:
        self.fetched.append(tenant)
        return await super().fetch(direction, tenant, env, **kw)


async def test_between_sweeps_a_round_fetches_only_the_tenants_heard_of() -> None:
    bus, processor = Counting(), Holding()
    processor.release.set()
    pool = _pool(bus, processor, concurrency=4)
    pool.settings = PoolSettings(concurrency=4, idle=3600.0)  # no sweep but the first
    stop = asyncio.Event()
    task = asyncio.create_task(pool.run(stop))
    try:
        for _ in range(200):  # the first round swept all four; the listener is up
            if len(bus.fetched) >= len(TENANTS) and pool.running == 0:
                break
            await asyncio.sleep(0.01)
        swept, bus.fetched = sorted(bus.fetched), []
        await asyncio.sleep(0.05)
        await _send(bus, "tc", 2)
        for _ in range(200):
            if processor.seen.count("tc") == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task
    assert swept == sorted(TENANTS)
    assert processor.seen == ["tc", "tc"]
    assert set(bus.fetched) == {"tc"}  # the three others, not heard of, were not fetched again


class Held:
    async def release(self) -> None:
        return None


class Scarce:
    """Flow slots of which other processes hold all but ``free``."""

    def __init__(self, free: int) -> None:
        self.free = free

    async def take(self, tenant_id: str, limit: int) -> Any:
        if self.free <= 0:
            return None
        self.free -= 1
        return Held()

    async def close(self) -> None:
        return None


async def test_with_fewer_slots_than_messages_the_first_ones_start_the_rest_come_back() -> None:
    bus, processor = InProcessBus(), Holding()
    pool = _pool(bus, processor, concurrency=3)
    pool.slots = cast(Any, Scarce(free=1))
    pool.entries = [Served("shared", "ta", "prod")]
    await _send(bus, "ta", 3)
    assert await pool.round() == 1
    await asyncio.sleep(0)
    assert processor.data == [b"0"]  # the first sent
    back = await bus.fetch(names.Direction.INGRESS, "ta", "prod", batch=3, wait=2.0)
    assert [(d.data, d.attempt) for d in back] == [(b"1", 2), (b"2", 2)]  # put back, shortly
    await _settle(pool, processor)


class Waits:
    """Puts the first delivery back as a message waiting for its predecessor would be."""

    def __init__(self) -> None:
        self.attempts: list[int] = []

    async def handle(self, delivery: Delivery) -> Outcome:
        self.attempts.append(delivery.attempt)
        if delivery.attempt == 1:
            await delivery.nak(ORDER_DELAY)
            return Outcome.WAITING
        await delivery.ack()
        return Outcome.ANSWERED


async def test_a_message_put_back_to_wait_is_fetched_again_without_a_sweep() -> None:
    bus, processor = InProcessBus(), Waits()
    pool = _pool(bus, cast(Any, processor), concurrency=4)
    pool.settings = PoolSettings(concurrency=4, idle=3600.0)  # no sweep but the first
    stop = asyncio.Event()
    task = asyncio.create_task(pool.run(stop))
    try:
        await asyncio.sleep(0.05)  # the first round swept; the listener is up
        await _send(bus, "tb", 1)
        for _ in range(300):
            if processor.attempts == [1, 2]:
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task
    assert processor.attempts == [1, 2]

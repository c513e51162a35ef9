"""Session message counters and flow execution slots: one suite, the embedded backend and Redis.

Two instances stand for two processes sharing the counters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tenantry.backends.redis.flow_slots import RedisFlowSlots
from tenantry.backends.redis.sequences import RedisSessionSequences
from tenantry.backends.sqlite.sequences import SqliteSessionSequences
from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.runtime.messaging.sequences import SessionSequences
from tenantry.tenancy.limits.flow_slots import FlowSlots, LocalFlowSlots

REDIS_URL = "redis://127.0.0.1:6379/12"

Pair = tuple[SessionSequences, SessionSequences]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.postgres)])
async def sequences(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    made: list[SessionSequences]
    if request.param == "sqlite":
        path = tmp_path / "sequences.sqlite3"
        made = [SqliteSessionSequences(path), SqliteSessionSequences(path)]
    else:
        made = [RedisSessionSequences(REDIS_URL), RedisSessionSequences(REDIS_URL)]
    yield made[0], made[1]
    for each in made:
        await each.close()


def _key() -> str:
    return names.session_seq_key("acme", "prod", None, uuid.uuid4().hex)


async def test_a_sessions_messages_are_numbered_without_gap_or_repeat(sequences: Pair) -> None:
    one, two = sequences
    key, other = _key(), _key()
    taken = await asyncio.gather(*(s.next(key) for s in (one, two) * 10))
    assert sorted(taken) == list(range(1, 21))
    assert await one.next(other) == 1  # every session counts on its own


async def test_a_number_is_given_back_only_if_it_is_the_last(sequences: Pair) -> None:
    one, two = sequences
    key = _key()
    assert await one.next(key) == 1
    await one.give_back(key, 1)
    assert await two.next(key) == 1
    assert await two.next(key) == 2
    await one.give_back(key, 1)  # 2 was taken since: nothing is undone
    assert await one.next(key) == 3


def test_the_counter_key_is_built_from_valid_ids_only() -> None:
    assert names.session_seq_key("acme", "prod", None, "s1") == "seq:acme:prod:default:s1"
    for bad in ("a:b", "a*", "a b", "A"):
        with pytest.raises(InvalidInput):
            names.session_seq_key("acme", "prod", "support", bad)


SlotsPair = tuple[FlowSlots, FlowSlots]


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.postgres)])
async def slots(request: pytest.FixtureRequest) -> AsyncIterator[SlotsPair]:
    made: list[FlowSlots]
    if request.param == "local":
        shared = LocalFlowSlots()  # one process: both pools count in it
        made = [shared, shared]
    else:
        made = [RedisFlowSlots(REDIS_URL, lease=2.0), RedisFlowSlots(REDIS_URL, lease=2.0)]
    yield made[0], made[1]
    for each in made:
        await each.close()


async def test_a_tenants_slots_are_capped_across_holders(slots: SlotsPair) -> None:
    one, two = slots
    tenant, other = f"t{uuid.uuid4().hex[:8]}", f"o{uuid.uuid4().hex[:8]}"
    first, second = await one.take(tenant, 2), await two.take(tenant, 2)
    assert first is not None and second is not None
    assert await one.take(tenant, 2) is None
    assert await two.take(tenant, 2) is None
    assert await two.take(other, 1) is not None  # another tenant's slots are its own
    await first.release()
    await first.release()  # twice gives back one
    third = await two.take(tenant, 2)
    assert third is not None
    assert await one.take(tenant, 2) is None


@pytest.mark.postgres
async def test_a_dead_holders_redis_leases_lapse_and_live_ones_are_renewed() -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    live, dead = RedisFlowSlots(REDIS_URL, lease=1.5), RedisFlowSlots(REDIS_URL, lease=1.5)
    try:
        held = await live.take(tenant, 2)
        assert held is not None
        assert await dead.take(tenant, 2) is not None
        dead._held.clear()  # the holder dies: nobody renews or releases its lease
        await asyncio.sleep(2.5)
        assert await dead.take(tenant, 2) is not None  # the dead lease lapsed; the live holds
        assert await dead.take(tenant, 2) is None
    finally:
        await live.close()
        await dead.close()

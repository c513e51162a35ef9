"""State counted against a real storage quota on SQLite and on Redis: JSON sizes, refusals that
write nothing, overwrites, deletes and clears, expired values freed by the next write,
concurrent writers, tenants apart.

After every step the counters equal what the backend holds (``Harness.held``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tenantry.runtime.state import StateBusy, StateStore
from tenantry.tenancy.limits.errors import QuotaExceeded, QuotaTooLarge
from tenantry.tenancy.limits.quotas import Quotas
from tenantry.tenancy.limits.schemas import QuotaSpec, Resource, StorageSpec
from tests.contract.state.support import Harness
from tests.quotas import control, used

STATE = Resource.STATE  # 300 bytes and 3 values (tests.quotas.STORAGE)
WIDE = StorageSpec(state=QuotaSpec(bytes=1000, count=1000))


@dataclass
class World:
    harness: Harness
    quotas: Quotas
    tenants: tuple[str, str]

    def store(self, tenant: str | None = None) -> StateStore:
        tenant = tenant or self.tenants[0]
        return self.harness.bind(tenant, quota=self.quotas.bind(tenant))

    async def counted(self, tenant: str | None = None) -> tuple[int, int]:
        return await used(self.quotas, tenant or self.tenants[0], STATE)

    async def held(self, tenant: str | None = None) -> tuple[int, int]:
        return await self.harness.held(tenant or self.tenants[0])


@pytest.fixture
async def world(harness: Harness, tmp_path: Path) -> AsyncIterator[World]:
    tenants = (harness.tenant(), harness.tenant())
    async with control(tmp_path / "quota", tenants) as quotas:
        yield World(harness, quotas, tenants)


@pytest.fixture
async def wide(harness: Harness, tmp_path: Path) -> AsyncIterator[World]:
    tenants = (harness.tenant(), harness.tenant())
    async with control(tmp_path / "wide", tenants, WIDE) as quotas:
        yield World(harness, quotas, tenants)


def text(size: int) -> str:
    """A string value whose JSON is ``size`` bytes."""
    return "x" * (size - 2)


async def test_values_count_their_json_up_to_the_count(world: World) -> None:
    store = world.store()
    for session, size in (("s1", 10), ("s2", 20), ("s3", 30)):
        await store.set("support", session, text(size))
    assert await world.counted() == await world.held() == (60, 3)
    with pytest.raises(QuotaExceeded) as caught:
        await store.set("support", "s4", 1)
    assert caught.value.code == "quota.exceeded"
    assert await store.get("support", "s4") is None
    assert await world.counted() == await world.held() == (60, 3)


async def test_a_value_over_the_bytes_is_too_large_and_not_written(world: World) -> None:
    store = world.store()
    with pytest.raises(QuotaTooLarge) as caught:
        await store.set("support", "big", text(301))
    assert caught.value.code == "quota.too_large"
    await store.set("support", "s1", text(250))
    with pytest.raises(QuotaTooLarge):  # 51 bytes, 50 left
        await store.set("support", "s2", text(51))
    assert await store.get("support", "big") is None
    assert await world.counted() == await world.held() == (250, 1)


async def test_an_overwrite_counts_its_growth_and_gives_back_its_shrink(world: World) -> None:
    store = world.store()
    for size in (10, 200, 5):
        await store.set("support", "s1", text(size), ttl=3600)
        assert await world.counted() == await world.held() == (size, 1)
    with pytest.raises(QuotaTooLarge):
        await store.set("support", "s1", text(301))
    assert await store.get("support", "s1") == text(5)
    assert await world.counted() == await world.held() == (5, 1)


async def test_deletes_and_clears_give_the_room_back(world: World) -> None:
    store = world.store()
    for team, session in (("support", "s1"), ("support", "s2"), ("sales", "s1")):
        await store.set(team, session, text(10))
    assert await store.delete("support", "s1")
    assert not await store.delete("support", "s1")
    assert await world.counted() == await world.held() == (20, 2)
    assert await store.clear_team("sales") == 1
    assert await world.counted() == await world.held() == (10, 1)
    assert await store.clear() == 1
    assert await world.counted() == await world.held() == (0, 0)


async def test_expired_values_are_freed_by_the_next_write(world: World) -> None:
    store, ttl = world.store(), world.harness.short_ttl
    for session in ("s1", "s2", "s3"):
        await store.set("support", session, text(90), ttl=ttl)
    await world.harness.outlive(ttl)
    assert await world.counted() == (270, 3)  # expired, still counted: the safe side
    await store.set("support", "s4", text(100))  # room only once the expired ones are gone
    assert await world.counted() == await world.held() == (100, 1)
    assert await store.get("support", "s1") is None


async def test_an_expired_value_deleted_or_cleared_is_given_back(world: World) -> None:
    store, ttl = world.store(), world.harness.short_ttl
    await store.set("support", "s1", text(10), ttl=ttl)
    await store.set("support", "s2", text(20), ttl=ttl)
    await world.harness.outlive(ttl)
    assert not await store.delete("support", "s1")  # not live, but counted: freed
    assert await store.clear() == 0
    assert await world.counted() == await world.held() == (0, 0)


async def test_100_concurrent_writers_never_pass_the_quota(world: World, wide: World) -> None:
    async def write(store: StateStore, session: str, size: int) -> bool:
        try:
            await store.set("support", session, text(size))
        except (QuotaExceeded, QuotaTooLarge):
            return False
        return True

    narrow = world.store()  # 3 values
    results = await asyncio.gather(*(write(narrow, f"s{i}", 10) for i in range(100)))
    assert sum(results) == 3
    assert await world.counted() == await world.held() == (30, 3)
    roomy = wide.store()  # 1000 bytes
    results = await asyncio.gather(*(write(roomy, f"s{i}", 30) for i in range(100)))
    assert sum(results) == 33
    assert await wide.counted() == await wide.held() == (990, 33)


async def test_concurrent_overwrites_of_one_key_count_the_last_one(wide: World) -> None:
    store = wide.store()

    async def write(size: int) -> None:
        await store.set("support", "same", text(size))

    outcomes = await asyncio.gather(*(write(n) for n in range(2, 42)), return_exceptions=True)
    lost = [outcome for outcome in outcomes if outcome is not None]
    assert all(isinstance(outcome, StateBusy) for outcome in lost), lost
    value = await store.get("support", "same")
    assert isinstance(value, str)
    assert await wide.counted() == await wide.held() == (len(value) + 2, 1)


async def test_one_tenant_filling_its_quota_leaves_another_writing(world: World) -> None:
    first, second = world.tenants
    for session in ("s1", "s2", "s3"):
        await world.store(first).set("support", session, text(100))
    with pytest.raises(QuotaExceeded):
        await world.store(first).set("support", "s4", 1)
    await world.store(second).set("support", "s1", text(250))
    assert await world.counted(second) == await world.held(second) == (250, 1)
    assert await world.counted(first) == await world.held(first) == (300, 3)


async def test_a_write_that_does_not_grow_needs_no_room_in_a_full_quota(world: World) -> None:
    store = world.store()
    for session in ("s1", "s2", "s3"):
        await store.set("support", session, text(100), ttl=3600)
    await store.set("support", "s1", "y" * 98)  # the same 100 bytes, and no expiry now
    assert await store.get("support", "s1") == "y" * 98
    assert await store.ttl("support", "s1") is None
    await store.set("support", "s2", text(40), ttl=60)  # a shrink gives back 60
    assert await world.counted() == await world.held() == (240, 3)
    await store.set("support", "s3", text(160))  # ... which a growth may take
    assert await world.counted() == await world.held() == (300, 3)
    assert await world.harness.ledger(world.tenants[0]) == (300, 3)


async def test_a_growth_that_does_not_fit_changes_nothing(world: World) -> None:
    store = world.store()
    for session in ("s1", "s2", "s3"):
        await store.set("support", session, text(100), ttl=3600)
    with pytest.raises(QuotaExceeded):
        await store.set("support", "s1", text(101))  # one byte more, none left
    assert await store.get("support", "s1") == text(100)
    remaining = await store.ttl("support", "s1")
    assert remaining is not None and remaining > 3000  # its expiry is kept too
    assert await world.counted() == await world.held() == (300, 3)
    assert await world.harness.ledger(world.tenants[0]) == (300, 3)


async def test_concurrent_writes_that_do_not_grow_all_pass_a_full_quota(world: World) -> None:
    store = world.store()
    sessions = ("s1", "s2", "s3")
    for session in sessions:
        await store.set("support", session, text(100))

    async def write(index: int) -> None:
        await store.set("support", sessions[index % 3], f"{index:098d}")  # 100 bytes each

    await asyncio.gather(*(write(index) for index in range(60)))
    assert await world.counted() == await world.held() == (300, 3)
    assert await world.harness.ledger(world.tenants[0]) == (300, 3)


async def test_mixed_concurrent_writers_keep_a_full_quota_exact(world: World) -> None:
    store = world.store()
    sessions = ("s1", "s2", "s3")
    for session in sessions:
        await store.set("support", session, text(100))

    async def write(session: str, size: int) -> bool:
        try:
            await store.set("support", session, text(size))
        except (QuotaExceeded, QuotaTooLarge, StateBusy):
            return False  # refused, or lost too many races: nothing written either way
        return True

    resizes = [write(sessions[i % 3], 60 + (i * 7) % 80) for i in range(60)]
    news = [write(f"new{i}", 10) for i in range(20)]
    results = await asyncio.gather(*resizes, *news)
    assert not any(results[len(resizes) :])  # no value count left for a new one
    bytes_, items = await world.counted()
    assert (bytes_, items) == await world.held() == await world.harness.ledger(world.tenants[0])
    assert items == 3 and bytes_ <= 300


async def test_a_store_without_a_quota_keeps_its_counts_exact(harness: Harness) -> None:
    tenant = harness.tenant()
    store = harness.bind(tenant)  # UNLIMITED: nothing reserved, the counts kept all the same
    steps = (("s1", 10, None), ("s1", 200, 60.0), ("s1", 5, None), ("s2", 1000, None))
    for session, size, ttl in steps:
        await store.set("support", session, text(size), ttl=ttl)
        assert await harness.ledger(tenant) == await harness.held(tenant)
    assert await harness.ledger(tenant) == (1005, 2)
    await store.set("support", "s3", text(50), ttl=harness.short_ttl)
    await harness.outlive(harness.short_ttl)
    await store.set("support", "s1", text(5))  # purges s3 on the way (SQLite: at its pace)
    assert await harness.ledger(tenant) == await harness.held(tenant)
    assert await store.delete("support", "s2")
    await store.clear()
    assert await harness.ledger(tenant) == await harness.held(tenant) == (0, 0)


async def test_an_overwrite_without_a_ttl_is_not_purged_at_the_old_expiry(world: World) -> None:
    store, ttl = world.store(), world.harness.short_ttl
    await store.set("support", "s1", text(100), ttl=ttl)
    await store.set("support", "s1", text(100))  # same size: written at once, expiry dropped
    await world.harness.outlive(ttl)
    await store.set("support", "s2", text(100))  # a write that purges expired values
    assert await store.get("support", "s1") == text(100)
    assert await world.counted() == await world.held() == (200, 2)

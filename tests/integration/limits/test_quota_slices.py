"""A process's slices of a quota: spent in memory, given back, never past the quota across
processes, a bounded leak when a process dies, and a changed quota honoured at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from tenantry.tenancy.limits import repository, slices
from tenantry.tenancy.limits.catalog import LimitsCatalog
from tenantry.tenancy.limits.errors import QuotaExceeded, QuotaTooLarge
from tenantry.tenancy.limits.models import UsageCounterRow
from tenantry.tenancy.limits.quotas import Quotas
from tenantry.tenancy.limits.schemas import Resource
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.registry.errors import ControlDatabaseUnavailable
from tests.integration.limits.conftest import BUNDLE, Control, write_bundle

# delta: a slice is 20 bytes and 64 items (1/128 of 2560 bytes; of 10,000 items, at most 64)
DELTA = "  delta:\n    name: Delta\n    limits:\n      storage:\n        objects: {%s}\n"
ROOMY = "bytes: 2560, count: 10000"


async def apply(control: Control, tmp_path: Path, objects: str = ROOMY) -> None:
    bundle = write_bundle(tmp_path, BUNDLE + DELTA % objects)
    await control.services.registry.apply(loader.load([bundle]))


def process(control: Control) -> Quotas:
    """The quotas of another process on the same control database (fresh limits each time)."""
    return Quotas(control.sessions, LimitsCatalog(control.sessions, ttl=0))


async def counted(control: Control, tenant: str = "delta") -> tuple[int, int]:
    """The counter row itself: what is written plus every process's slice."""
    query = select(UsageCounterRow.used, UsageCounterRow.items).where(
        UsageCounterRow.tenant_id == tenant, UsageCounterRow.resource == "objects"
    )
    async with control.sessions() as session:
        row = (await session.execute(query)).one_or_none()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


async def written(quotas: Quotas, tenant: str = "delta") -> tuple[int, int]:
    found = {usage.resource: usage for usage in await quotas.usage(tenant)}
    return found[Resource.OBJECTS].bytes, found[Resource.OBJECTS].items


async def test_a_slice_is_spent_in_memory_and_given_back(control: Control, tmp_path: Path) -> None:
    await apply(control, tmp_path)
    quotas = process(control)
    await quotas.take("delta", "objects", 10)
    assert await counted(control) == (10 + 20, 1 + 64)  # the write and a slice beyond it
    assert await written(quotas) == (10, 1)
    await quotas.take("delta", "objects", 10)
    await quotas.take("delta", "objects", 5, 0)
    assert await counted(control) == (30, 65)  # spent from the slice: no round trip
    assert await written(quotas) == (25, 2)
    await quotas.release("delta", "objects", 5, 0)  # kept in the slice
    assert await counted(control) == (30, 65)
    await quotas.take("delta", "objects", 30)  # does not fit the slice: a refill nets it
    assert await counted(control) == (20 + 30 + 20, 3 + 64)
    assert await written(quotas) == (50, 3)
    await quotas.give_back()
    assert await counted(control) == await written(quotas) == (50, 3)


async def test_idle_slices_are_given_back_while_running(control: Control, tmp_path: Path) -> None:
    await apply(control, tmp_path)
    quotas = process(control)
    async with quotas.running(every=0.05):
        await quotas.take("delta", "objects", 10)
        assert await counted(control) == (30, 65)
        # a slice unused for slices.IDLE seconds goes back; the test waits for it, bounded
        for _ in range(int(slices.IDLE * 40) + 100):
            if await counted(control) == (10, 1):
                break
            await asyncio.sleep(0.05)
        assert await counted(control) == (10, 1)
        await quotas.take("delta", "objects", 10)
    assert await counted(control) == (20, 2)  # the end of the block gave the rest back


async def test_two_processes_never_pass_the_quota_together(
    control: Control, tmp_path: Path
) -> None:
    await apply(control, tmp_path)
    first, second = process(control), process(control)

    async def write(quotas: Quotas) -> bool:
        try:
            async with quotas.reserve("delta", "objects", 10):
                used, _ = await counted(control)
                assert used <= 2560  # never past the quota, slices included
                await asyncio.sleep(0)
        except (QuotaExceeded, QuotaTooLarge):
            return False
        return True

    results = await asyncio.gather(*(write((first, second)[n % 2]) for n in range(300)))
    admitted = sum(results)
    # 256 writes of 10 bytes fit; the other process's slice (20 bytes) may refuse 2 early
    assert 254 <= admitted <= 256
    await first.give_back()
    await second.give_back()
    assert await counted(control) == (10 * admitted, admitted)


async def test_a_dead_process_leaks_at_most_its_slice(control: Control, tmp_path: Path) -> None:
    await apply(control, tmp_path)
    dead = process(control)
    for _ in range(3):
        await dead.take("delta", "objects", 10)
    del dead  # killed: its slice is never given back
    alive = process(control)
    leaked = (await counted(control))[0] - 30, (await counted(control))[1] - 3
    assert 0 <= leaked[0] <= slices.room_of(2560, slices.MOST_BYTES)
    assert 0 <= leaked[1] <= slices.room_of(10_000, slices.MOST_ITEMS)
    assert await written(alive) == (30 + leaked[0], 3 + leaked[1])  # counted: the safe side


async def test_a_lowered_quota_is_not_passed_through_a_slice(
    control: Control, tmp_path: Path
) -> None:
    await apply(control, tmp_path)
    quotas = process(control)
    await quotas.take("delta", "objects", 10)  # a slice of 20 bytes beyond it
    await apply(control, tmp_path, "bytes: 15, count: 10000")
    with pytest.raises((QuotaExceeded, QuotaTooLarge)):
        await quotas.take("delta", "objects", 10)  # 10 + 10 > 15, room in the slice or not
    assert await counted(control) == (10, 1)  # the refusal gave the slice back
    await quotas.take("delta", "objects", 5, 0)
    assert await written(quotas) == (15, 1)


async def test_a_failed_refill_leaves_the_old_slice_counted_never_spent(
    control: Control, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await apply(control, tmp_path)
    quotas = process(control)
    await quotas.take("delta", "objects", 10)  # a slice of 20 bytes and 64 items beyond it

    async def down(*_: object, **__: object) -> bool:
        raise ControlDatabaseUnavailable("the control database is unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(repository, "add_within", down)
        with pytest.raises(ControlDatabaseUnavailable):
            await quotas.take("delta", "objects", 30)  # needs a refill, which fails
    assert await counted(control) == (30, 65)  # its outcome unknown: the room stays counted
    for _ in range(2):  # 20 bytes, 2 items: spent from the old slice, they would not count
        await quotas.take("delta", "objects", 10)
    await quotas.give_back()
    assert await counted(control) == (30 + 20, 3 + 64)  # the old slice leaked, counted

"""Storage quotas: reservations, 413 vs 403, releases, 100 concurrent writers, confinement."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from tenantry.core.errors import ErrorKind, InvalidInput, NotFound, TenantryError
from tenantry.tenancy.limits.errors import QuotaExceeded, QuotaTooLarge
from tenantry.tenancy.limits.models import UsageCounterRow
from tenantry.tenancy.limits.quotas import StorageUsage
from tenantry.tenancy.limits.schemas import Resource
from tests.integration.limits.conftest import Control


async def objects(control: Control, tenant: str = "acme") -> tuple[int, int]:
    found = {u.resource: u for u in await control.quotas.usage(tenant)}
    return found[Resource.OBJECTS].bytes, found[Resource.OBJECTS].items


async def counter_rows(control: Control) -> list[tuple[Any, ...]]:
    async with control.sessions() as session:
        query = select(UsageCounterRow.tenant_id, UsageCounterRow.resource, UsageCounterRow.used)
        return [
            tuple(row) for row in await session.execute(query.order_by(*query.selected_columns))
        ]


async def test_a_reservation_counts_and_a_release_gives_back(control: Control) -> None:
    async with control.quotas.reserve("acme", "objects", 100):
        pass
    async with control.quotas.reserve("acme", Resource.OBJECTS, 50, 2):
        pass
    assert await objects(control) == (150, 3)
    await control.quotas.release("acme", "objects", 100)
    assert await objects(control) == (50, 2)
    await control.quotas.release("acme", "objects", 10_000, 50)  # never below zero
    assert await objects(control) == (0, 0)
    usage = await control.quotas.usage("acme")
    assert StorageUsage(Resource.OBJECTS, 0, 0, 1000, 37) in usage
    assert [u.resource for u in usage] == list(Resource)


async def test_a_failed_write_releases_its_reservation(control: Control) -> None:
    with pytest.raises(OSError, match="disk"):
        async with control.quotas.reserve("acme", "objects", 400):
            assert await objects(control) == (400, 1)
            raise OSError("disk on fire")
    assert await objects(control) == (0, 0)


async def test_a_cancelled_write_releases_its_reservation(control: Control) -> None:
    inside = asyncio.Event()

    async def write() -> None:
        async with control.quotas.reserve("acme", "objects", 400):
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(write())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await objects(control) == (0, 0)


async def test_too_large_is_413_and_exhausted_is_403(control: Control) -> None:
    async with control.quotas.reserve("acme", "objects", 900):
        pass
    with pytest.raises(QuotaTooLarge) as large:  # 200 > the 100 bytes left
        await control.quotas.take("acme", "objects", 200)
    assert (large.value.kind, large.value.code) == (ErrorKind.TOO_LARGE, "quota.too_large")
    assert large.value.details["used_bytes"] == 900
    await control.quotas.take("acme", "objects", 100)
    with pytest.raises(QuotaExceeded) as full:  # nothing left at all
        await control.quotas.take("acme", "objects", 1)
    assert (full.value.kind, full.value.code) == (ErrorKind.FORBIDDEN, "quota.exceeded")
    assert full.value.details["exhausted"] == "bytes"
    with pytest.raises(QuotaTooLarge):  # larger than the whole quota
        await control.quotas.take("acme", "objects", 5000)
    with pytest.raises(QuotaExceeded, match="3/3 items"):
        for _ in range(4):
            await control.quotas.take("beta", "objects", 0)  # beta overrides: 3 objects
    with pytest.raises(QuotaTooLarge, match="per item"):  # state: 60 bytes per item
        await control.quotas.take("acme", "state", 61)
    with pytest.raises(QuotaTooLarge, match="per item"):  # growth of 10 to an item of 70
        await control.quotas.take("acme", "state", 10, 0, item_bytes=70)
    assert await objects(control) == (1000, 2)


@pytest.mark.parametrize(("size", "count", "admitted"), [(10, 1, 37), (30, 0, 33), (0, 1, 37)])
async def test_100_concurrent_writers_never_exceed_a_quota(
    control: Control, size: int, count: int, admitted: int
) -> None:
    async def writer() -> bool:
        try:
            async with control.quotas.reserve("acme", "objects", size, count):
                await asyncio.sleep(0)
        except (QuotaExceeded, QuotaTooLarge):
            return False
        return True

    results = await asyncio.gather(*(writer() for _ in range(100)))
    assert sum(results) == admitted
    used, items = await objects(control)
    assert used == size * admitted <= 1000 and items == count * admitted <= 37


async def test_100_concurrent_writers_with_failures_leave_exact_counters(control: Control) -> None:
    async def writer(n: int) -> None:
        async with control.quotas.reserve("acme", "objects", 7):
            if n % 2:
                raise RuntimeError("write failed")

    outcomes = await asyncio.gather(*(writer(n) for n in range(100)), return_exceptions=True)
    written = sum(result is None for result in outcomes)
    assert 18 <= written <= 37  # failures free their room for later writers
    assert await objects(control) == (7 * written, written)


async def test_one_tenants_quota_never_touches_anothers(control: Control) -> None:
    async with control.quotas.reserve("acme", "objects", 1000, 37):
        pass
    async with control.quotas.reserve("beta", "objects", 10):  # acme is full, beta is not
        pass
    await control.quotas.release("beta", "objects", 10_000, 100)  # cannot free acme's
    assert await objects(control, "acme") == (1000, 37)
    assert await objects(control, "beta") == (0, 0)
    await control.quotas.release("acme", "objects", 1000, 37)
    with pytest.raises(QuotaExceeded):  # and beta's own limit still applies
        for _ in range(4):
            await control.quotas.take("beta", "objects", 1)
    bound = control.quotas.bind("gamma")
    async with bound.reserve("objects", 5):
        pass
    await bound.release("objects", 5)
    rows = await counter_rows(control)
    assert {row[0] for row in rows} == {"acme", "beta", "gamma"}


@pytest.mark.parametrize(
    ("tenant", "resource", "size", "count", "code"),
    [
        ("ACME", "objects", 1, 1, "id.invalid"),
        ("acme/../beta", "objects", 1, 1, "id.invalid"),
        ("global", "objects", 1, 1, "id.invalid"),
        ("acme", "files", 1, 1, "quota.resource_invalid"),
        ("acme", "OBJECTS", 1, 1, "quota.resource_invalid"),
        ("acme", "objects", -1, 1, "quota.amount_invalid"),
        ("acme", "objects", 1, -1, "quota.amount_invalid"),
        ("acme", "objects", True, 1, "quota.amount_invalid"),
        ("acme", "objects", 1.5, 1, "quota.amount_invalid"),
        ("acme", "objects", 2**60, 1, "quota.amount_invalid"),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(
    control: Control, tenant: Any, resource: Any, size: Any, count: Any, code: str
) -> None:
    for attempt in (
        lambda: control.quotas.take(tenant, resource, size, count),
        lambda: control.quotas.release(tenant, resource, size, count),
    ):
        with pytest.raises(InvalidInput) as caught:
            await attempt()
        assert caught.value.code == code
    assert await counter_rows(control) == []


async def test_an_unknown_tenant_is_not_found_and_writes_nothing(control: Control) -> None:
    with pytest.raises(NotFound) as caught:
        await control.quotas.take("nobody", "objects", 1)
    assert caught.value.code == "tenant.not_found"
    await control.quotas.release("nobody", "objects", 1)  # releasing nothing is a no-op
    assert await counter_rows(control) == []
    async with control.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(UsageCounterRow)) == 0


async def test_quota_errors_are_tenantry_errors(control: Control) -> None:
    with pytest.raises(TenantryError):
        await control.quotas.take("acme", "objects", 10**6)

"""Objects counted against a real storage quota on every blob backend: sealed sizes, refusals
that write nothing, overwrites, deletes, failed writes, concurrent writers, tenants apart.

After every step the counters equal what the space really holds (:func:`held`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tenantry.backends.s3.blobs import S3BlobSpace
from tenantry.backends.s3.objects import S3Unavailable
from tenantry.runtime.blobs import MAX_PAGE, BlobConflict
from tenantry.runtime.crypto import Sealer
from tenantry.runtime.objects.errors import ObjectNotFound
from tenantry.runtime.objects.media import OCTETS
from tenantry.runtime.objects.records import frame_size
from tenantry.runtime.objects.store import RESERVED, ObjectStore
from tenantry.tenancy.limits.errors import QuotaExceeded, QuotaTooLarge
from tenantry.tenancy.limits.quotas import Quotas
from tenantry.tenancy.limits.schemas import QuotaSpec, Resource, StorageSpec
from tests.contract.runtime_blobs.conftest import TENANTS, Backend
from tests.quotas import ENVELOPE, control, used

ACME, BIGCORP = TENANTS
OBJECTS = Resource.OBJECTS  # 2000 bytes and 3 objects (tests.quotas.STORAGE)
WIDE = StorageSpec(objects=QuotaSpec(bytes=5000, count=1000))
OVERHEAD = ENVELOPE + frame_size(OCTETS)  # sealing, and the record's frame holding its type


@pytest.fixture
async def quotas(tmp_path: Path) -> AsyncIterator[Quotas]:
    async with control(tmp_path, TENANTS) as built:
        yield built


def store(backend: Backend, sealer: Sealer, quotas: Quotas, tenant: str = ACME) -> ObjectStore:
    space = backend.objects(tenant, "prod")
    return ObjectStore(tenant, "prod", space, sealer, quota=quotas.bind(tenant))


async def held(backend: Backend, tenant: str = ACME) -> tuple[int, int]:
    """``(bytes, objects)`` the tenant's object space really holds."""
    space = backend.objects(tenant, "prod")
    keys = [key for key in await space.list(limit=MAX_PAGE) if not key.startswith(RESERVED)]
    sizes = [(await space.stat(key)).size for key in keys]
    return sum(sizes), len(sizes)


async def counted(quotas: Quotas, tenant: str = ACME) -> tuple[int, int]:
    return await used(quotas, tenant, OBJECTS)


async def test_objects_count_their_sealed_size(
    backend: Backend, sealer: Sealer, quotas: Quotas
) -> None:
    objects = store(backend, sealer, quotas)
    for key, size in (("a", 100), ("b/c", 200), ("d", 0)):
        await objects.put(key, b"x" * size)
    assert await counted(quotas) == (300 + 3 * OVERHEAD, 3) == await held(backend)


async def test_the_type_is_counted_with_the_object(
    backend: Backend, sealer: Sealer, quotas: Quotas
) -> None:
    objects = store(backend, sealer, quotas)
    await objects.put("a", b"x" * 100, content_type="text/plain; charset=utf-8")
    expected = 100 + ENVELOPE + frame_size("text/plain; charset=utf-8")
    assert await counted(quotas) == await held(backend) == (expected, 1)
    await objects.put("a", b"x" * 100, content_type="image/png")
    assert await counted(quotas) == await held(backend) == (100 + ENVELOPE + 11, 1)


async def test_a_new_object_over_the_count_is_refused_and_not_written(
    backend: Backend, sealer: Sealer, quotas: Quotas
) -> None:
    objects = store(backend, sealer, quotas)
    for key in ("a", "b", "c"):
        await objects.put(key, b"x")
    with pytest.raises(QuotaExceeded) as caught:
        await objects.put("d", b"x")
    assert caught.value.code == "quota.exceeded"
    with pytest.raises(ObjectNotFound):
        await objects.get("d")
    await objects.put("a", b"an overwrite needs no new item")
    assert await counted(quotas) == await held(backend) == (2 * (1 + OVERHEAD) + 30 + OVERHEAD, 3)


async def test_an_object_over_the_bytes_is_too_large_and_not_written(
    backend: Backend, sealer: Sealer, quotas: Quotas
) -> None:
    objects = store(backend, sealer, quotas)
    with pytest.raises(QuotaTooLarge) as caught:  # 1900 + the overhead > 2000
        await objects.put("big", b"x" * 1900)
    assert caught.value.code == "quota.too_large"
    await objects.put("a", b"x" * 1000)
    with pytest.raises(QuotaTooLarge):  # 951 sealed bytes, 849 left
        await objects.put("b", b"x" * 800)
    for key in ("big", "b"):
        with pytest.raises(ObjectNotFound):
            await objects.get(key)
    assert await counted(quotas) == await held(backend) == (1000 + OVERHEAD, 1)


async def test_an_overwrite_counts_its_growth_and_gives_back_its_shrink(
    backend: Backend, sealer: Sealer, quotas: Quotas
) -> None:
    objects = store(backend, sealer, quotas)
    for size in (100, 600, 10):
        await objects.put("a", b"x" * size)
        assert await counted(quotas) == await held(backend) == (size + OVERHEAD, 1)
    with pytest.raises(QuotaTooLarge):  # growing to 1900 does not fit
        await objects.put("a", b"y" * 1900)
    assert (await objects.get("a")).data == b"x" * 10
    assert await counted(quotas) == await held(backend) == (10 + OVERHEAD, 1)


async def test_a_delete_gives_the_room_back(
    backend: Backend, sealer: Sealer, quotas: Quotas
) -> None:
    objects = store(backend, sealer, quotas)
    await objects.put("a", b"x" * 100)
    await objects.put("b", b"x" * 200)
    assert await objects.delete("a")
    assert await counted(quotas) == await held(backend) == (200 + OVERHEAD, 1)
    assert not await objects.delete("a")
    assert await counted(quotas) == (200 + OVERHEAD, 1)
    assert await objects.delete("b")
    assert await counted(quotas) == (0, 0)


def failing(backend: Backend, sealer: Sealer, quotas: Quotas) -> tuple[ObjectStore, str]:
    """A store and a key whose write fails after it was counted: a key below a stored object
    on a file system, or a bucket that does not exist on S3."""
    if backend.root is not None:
        return store(backend, sealer, quotas), "a/below"
    assert backend.client is not None
    space = S3BlobSpace(backend.client, "no-such-bucket-anywhere")
    return ObjectStore(ACME, "prod", space, sealer, quota=quotas.bind(ACME)), "a"


async def test_a_failed_write_leaves_the_counters_as_they_were(
    backend: Backend, sealer: Sealer, quotas: Quotas
) -> None:
    await store(backend, sealer, quotas).put("a", b"x" * 100)
    objects, key = failing(backend, sealer, quotas)
    with pytest.raises((BlobConflict, S3Unavailable)):
        await objects.put(key, b"y" * 100)
    assert await counted(quotas) == await held(backend) == (100 + OVERHEAD, 1)


async def test_100_concurrent_writers_never_pass_the_quota(
    backend: Backend, sealer: Sealer, tmp_path: Path
) -> None:
    async with control(tmp_path, TENANTS, WIDE) as quotas:
        objects = store(backend, sealer, quotas)

        async def write(index: int) -> bool:
            try:
                await objects.put(f"o{index}", b"x" * 150)
            except QuotaTooLarge:
                return False
            return True

        admitted = sum(await asyncio.gather(*(write(i) for i in range(100))))
        assert admitted == 5000 // (150 + OVERHEAD)
        assert (
            await counted(quotas) == await held(backend) == (admitted * (150 + OVERHEAD), admitted)
        )


async def test_concurrent_overwrites_of_one_key_count_the_last_one(
    backend: Backend, sealer: Sealer, tmp_path: Path
) -> None:
    # Until the first of them has written, each writer counts a new object: the count quota
    # is wide so that those passing reservations are not refused.
    async with control(tmp_path, TENANTS, WIDE) as quotas:
        objects = store(backend, sealer, quotas)

        async def write(size: int) -> None:
            await objects.put("same", b"x" * size)

        outcomes = await asyncio.gather(*(write(n) for n in range(1, 21)), return_exceptions=True)
        lost = [outcome for outcome in outcomes if outcome is not None]
        assert all(isinstance(outcome, BlobConflict) for outcome in lost), lost  # 8 races lost
        size = len((await objects.get("same")).data)
        assert await counted(quotas) == await held(backend) == (size + OVERHEAD, 1)


async def test_one_tenant_filling_its_quota_leaves_another_writing(
    backend: Backend, sealer: Sealer, quotas: Quotas
) -> None:
    acme, bigcorp = store(backend, sealer, quotas), store(backend, sealer, quotas, BIGCORP)
    for key in ("a", "b", "c"):
        await acme.put(key, b"x" * 500)
    with pytest.raises(QuotaExceeded):
        await acme.put("d", b"x")
    await bigcorp.put("a", b"x" * 1000)
    assert await counted(quotas, BIGCORP) == await held(backend, BIGCORP) == (1000 + OVERHEAD, 1)
    assert await counted(quotas) == await held(backend) == (3 * (500 + OVERHEAD), 3)


async def test_clear_removes_every_object_and_gives_the_room_back_at_once(
    backend: Backend, sealer: Sealer, quotas: Quotas
) -> None:
    objects = store(backend, sealer, quotas)
    await objects.put("a", b"1" * 100)
    await objects.put("b/c", b"2" * 200)
    await backend.objects(ACME, "prod").put(f"{RESERVED}-owner", b"platform")
    await store(backend, sealer, quotas, BIGCORP).put("theirs", b"3")
    assert await counted(quotas) == await held(backend) != (0, 0)
    assert await objects.clear() == 2
    assert await counted(quotas) == await held(backend) == (0, 0)
    assert await backend.objects(ACME, "prod").list() == [f"{RESERVED}-owner"]
    assert await counted(quotas, BIGCORP) == await held(backend, BIGCORP) != (0, 0)
    assert await objects.clear() == 0

"""Secret versions counted against a real storage quota (SQLite and PostgreSQL): every version
counts its sealed size, refusals write nothing, deletes and prunes give back what they removed,
concurrent writers never pass the quota, tenants stay apart, the platform is not counted.

After every step the counters equal what the secret table holds (:func:`held`).
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from tenantry.runtime.secrets import SecretStore
from tenantry.tenancy.limits.catalog import LimitsCatalog
from tenantry.tenancy.limits.errors import QuotaExceeded, QuotaTooLarge
from tenantry.tenancy.limits.quotas import Quotas
from tenantry.tenancy.limits.schemas import Resource
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.models import SecretVersionRow as Row
from tests.integration.secrets.conftest import TENANTS, Kit
from tests.quotas import ENVELOPE, register, used

SECRETS = Resource.SECRETS  # 1000 bytes and 3 versions (tests.quotas.STORAGE)


@pytest.fixture
async def quotas(kit: Kit) -> Quotas:
    sessions = database.session_factory(kit.engine)
    await register(sessions, TENANTS)
    return Quotas(sessions, LimitsCatalog(sessions))


def store(kit: Kit, quotas: Quotas, tenant: str = "acme") -> SecretStore:
    return kit.store(tenant, quota=quotas.bind(tenant))


async def held(kit: Kit, tenant: str = "acme") -> tuple[int, int]:
    """``(sealed bytes, versions)`` stored for the tenant."""
    query = select(func.coalesce(func.sum(func.length(Row.sealed)), 0), func.count()).where(
        Row.tenant_id == tenant
    )
    async with database.session_factory(kit.engine)() as session:
        size, count = (await session.execute(query)).one()
    return int(size), int(count)


async def counted(quotas: Quotas, tenant: str = "acme") -> tuple[int, int]:
    return await used(quotas, tenant, SECRETS)


async def test_every_version_counts_its_sealed_size(kit: Kit, quotas: Quotas) -> None:
    secrets = store(kit, quotas)
    await secrets.put("api_key", "x" * 10)
    await secrets.put("api_key", "x" * 20)
    await secrets.put("webhook", b"y" * 30, team="support")
    assert await counted(quotas) == await held(kit) == (60 + 3 * ENVELOPE, 3)


async def test_a_version_over_the_count_or_the_bytes_is_refused_and_not_written(
    kit: Kit, quotas: Quotas
) -> None:
    secrets = store(kit, quotas)
    with pytest.raises(QuotaTooLarge) as large:  # 900 + the envelope > 1000
        await secrets.put("big", "x" * 900)
    assert large.value.code == "quota.too_large"
    for _ in range(3):
        await secrets.put("api_key", "x")
    with pytest.raises(QuotaExceeded) as full:
        await secrets.put("api_key", "x")
    assert full.value.code == "quota.exceeded"
    assert [v.version for v in await secrets.versions("api_key")] == [1, 2, 3]
    assert await counted(quotas) == await held(kit) == (3 * (1 + ENVELOPE), 3)


async def test_deletes_and_prunes_give_back_what_they_removed(kit: Kit, quotas: Quotas) -> None:
    secrets = store(kit, quotas)
    for size in (10, 20, 30):
        await secrets.put("api_key", "x" * size)
    assert await secrets.prune("api_key", keep=1) == 2
    assert await counted(quotas) == await held(kit) == (30 + ENVELOPE, 1)
    assert await secrets.delete("api_key") == 1
    assert await counted(quotas) == await held(kit) == (0, 0)


async def test_a_key_rotation_keeps_every_size(kit: Kit, quotas: Quotas) -> None:
    secrets = store(kit, quotas)
    await secrets.put("api_key", "x" * 10)
    await secrets.rotate_key()
    await secrets.put("api_key", "x" * 10)
    assert await counted(quotas) == await held(kit) == (2 * (10 + ENVELOPE), 2)


async def test_100_concurrent_writers_never_pass_the_quota(kit: Kit, quotas: Quotas) -> None:
    secrets = store(kit, quotas)

    async def put(index: int) -> bool:
        try:
            await secrets.put(f"s{index % 4}", "x" * 50)
        except QuotaExceeded:
            return False
        return True

    assert sum(await asyncio.gather(*(put(i) for i in range(100)))) == 3
    assert await counted(quotas) == await held(kit) == (3 * (50 + ENVELOPE), 3)


async def test_one_tenant_filling_its_quota_leaves_another_writing(
    kit: Kit, quotas: Quotas
) -> None:
    acme, globex = store(kit, quotas), store(kit, quotas, "globex")
    for _ in range(3):
        await acme.put("api_key", "x")
    with pytest.raises(QuotaExceeded):
        await acme.put("api_key", "x")
    await globex.put("api_key", "x" * 500)
    assert await counted(quotas, "globex") == await held(kit, "globex") == (625, 1)
    assert await counted(quotas) == await held(kit) == (3 * 126, 3)


async def test_platform_secrets_count_against_no_tenant(kit: Kit, quotas: Quotas) -> None:
    await kit.platform().put("smtp_password", "x" * 2000)
    assert await counted(quotas, "platform") == (0, 0)

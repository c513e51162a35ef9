"""Sessions counted against a real storage quota on every blob backend: sealed sizes, refusals
that write nothing, updates that grow or shrink, deletes, the sweep, lost races, tenants apart.

After every step the counters equal what the session space really holds (:func:`held`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tenantry.core import names
from tenantry.runtime.blobs import MAX_PAGE
from tenantry.runtime.crypto import Sealer
from tenantry.runtime.sessions.errors import RevisionMismatch, SessionNotFound
from tenantry.runtime.sessions.store import SessionStore
from tenantry.tenancy.limits.errors import QuotaExceeded, QuotaTooLarge
from tenantry.tenancy.limits.quotas import Quotas
from tenantry.tenancy.limits.schemas import QuotaSpec, Resource, StorageSpec
from tests.contract.runtime_blobs.conftest import TENANTS, Backend
from tests.quotas import control, used

ACME, BIGCORP = TENANTS
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SESSIONS = Resource.SESSIONS  # 4000 bytes and 3 sessions (tests.quotas.STORAGE)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def quotas(tmp_path: Path) -> AsyncIterator[Quotas]:
    async with control(tmp_path, TENANTS) as built:
        yield built


@pytest.fixture
def ticking() -> Clock:
    return Clock()


@pytest.fixture
def acme(backend: Backend, sealer: Sealer, quotas: Quotas, ticking: Clock) -> SessionStore:
    return store(backend, sealer, quotas, ticking)


def store(
    backend: Backend, sealer: Sealer, quotas: Quotas, ticking: Clock, tenant: str = ACME
) -> SessionStore:
    space = backend.session_root()
    return SessionStore(tenant, "prod", space, sealer, clock=ticking, quota=quotas.bind(tenant))


async def held(backend: Backend, tenant: str = ACME) -> tuple[int, int]:
    """``(bytes, sessions)`` the session space really holds for the tenant's environment."""
    space = backend.session_root()
    folder = names.session_folder(tenant, "prod", every_team=True)
    sizes = [(await space.stat(path)).size for path in await space.list(folder, limit=MAX_PAGE)]
    return sum(sizes), len(sizes)


async def counted(quotas: Quotas, tenant: str = ACME) -> tuple[int, int]:
    return await used(quotas, tenant, SESSIONS)


async def test_sessions_count_their_sealed_size_up_to_the_count(
    backend: Backend, acme: SessionStore, quotas: Quotas
) -> None:
    for session in ("s1", "s2", "s3"):
        await acme.create("support", session, variables={"n": session})
    assert await counted(quotas) == await held(backend)
    assert (await counted(quotas))[1] == 3
    with pytest.raises(QuotaExceeded) as caught:
        await acme.create("support", "s4")
    assert caught.value.code == "quota.exceeded"
    with pytest.raises(SessionNotFound):
        await acme.get("support", "s4")
    assert await counted(quotas) == await held(backend)


async def test_a_session_over_the_bytes_is_too_large_and_not_written(
    backend: Backend, acme: SessionStore, quotas: Quotas
) -> None:
    with pytest.raises(QuotaTooLarge) as caught:
        await acme.create("support", "big", variables={"blob": "x" * 4000})
    assert caught.value.code == "quota.too_large"
    with pytest.raises(SessionNotFound):
        await acme.get("support", "big")
    assert await counted(quotas) == await held(backend) == (0, 0)


async def test_an_update_counts_its_growth_and_gives_back_its_shrink(
    backend: Backend, acme: SessionStore, quotas: Quotas
) -> None:
    made = await acme.create("support", "s1", variables={"blob": "x" * 100})
    grown = await acme.update(replace(made, variables={"blob": "x" * 2000}))
    assert await counted(quotas) == await held(backend)
    assert (await counted(quotas))[0] > 2000
    shrunk = await acme.update(replace(grown, variables={}))
    assert await counted(quotas) == await held(backend)
    assert (await counted(quotas))[0] < 1000
    with pytest.raises(QuotaTooLarge):
        await acme.update(replace(shrunk, variables={"blob": "x" * 4000}))
    assert (await acme.get("support", "s1")).revision == shrunk.revision
    assert await counted(quotas) == await held(backend)


async def test_an_update_that_lost_a_race_leaves_the_counters_as_they_were(
    backend: Backend, acme: SessionStore, quotas: Quotas
) -> None:
    made = await acme.create("support", "s1")
    await acme.update(replace(made, variables={"first": True}))
    with pytest.raises(RevisionMismatch):  # written over the version ``made`` was read at
        await acme.update(replace(made, variables={"blob": "x" * 1000}))
    assert await counted(quotas) == await held(backend)
    assert (await counted(quotas))[0] < 1000


async def test_deletes_and_the_sweep_give_the_room_back(
    backend: Backend, acme: SessionStore, quotas: Quotas, ticking: Clock
) -> None:
    await acme.create("support", "plain")
    fenced = await acme.create("support", "fenced")
    await acme.create("support", "brief", ttl=timedelta(minutes=1))
    assert await acme.delete("support", "plain")
    assert await acme.delete("support", "fenced", revision=fenced.revision)
    assert not await acme.delete("support", "plain")
    assert (await counted(quotas))[1] == 1
    ticking.now = NOW + timedelta(minutes=2)
    assert await acme.sweep_expired() == 1
    assert await counted(quotas) == await held(backend) == (0, 0)


async def test_an_expired_session_created_again_is_replaced_not_added(
    backend: Backend, acme: SessionStore, quotas: Quotas, ticking: Clock
) -> None:
    await acme.create("support", "s1", ttl=timedelta(seconds=1))
    await acme.create("support", "s2")
    await acme.create("support", "s3")
    ticking.now = NOW + timedelta(seconds=5)
    await acme.create("support", "s1", variables={"blob": "x" * 500})  # the count is full
    assert await counted(quotas) == await held(backend)
    assert (await counted(quotas))[1] == 3


async def test_100_concurrent_creators_never_pass_the_quota(
    backend: Backend, sealer: Sealer, ticking: Clock, tmp_path: Path
) -> None:
    wide = StorageSpec(sessions=QuotaSpec(bytes=100_000, count=25))
    async with control(tmp_path, TENANTS, wide) as quotas:
        sessions = store(backend, sealer, quotas, ticking)

        async def create(index: int) -> bool:
            try:
                await sessions.create("support", f"s{index}")
            except QuotaExceeded:
                return False
            return True

        assert sum(await asyncio.gather(*(create(i) for i in range(100)))) == 25
        assert await counted(quotas) == await held(backend)


async def test_one_tenant_filling_its_quota_leaves_another_writing(
    backend: Backend, sealer: Sealer, quotas: Quotas, ticking: Clock
) -> None:
    acme, bigcorp = (store(backend, sealer, quotas, ticking, t) for t in TENANTS)
    for session in ("s1", "s2", "s3"):
        await acme.create("support", session)
    with pytest.raises(QuotaExceeded):
        await acme.create("support", "s4")
    await bigcorp.create("support", "s4")
    assert await counted(quotas, BIGCORP) == await held(backend, BIGCORP)
    assert (await counted(quotas, BIGCORP))[1] == 1
    assert await counted(quotas) == await held(backend)

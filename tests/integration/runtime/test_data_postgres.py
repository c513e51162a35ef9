"""Tenant data on PostgreSQL: a pooled connection carries nothing from one tenant's transaction
into the next, the tenant role cannot reach another tenant's schema, and failures are clear."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tenantry.backends.postgres.data import PostgresTenantDataSource, tenant_data_engine
from tenantry.runtime.data import (
    NotProvisioned,
    TenantData,
    TenantDataForbidden,
    TenantDataUnavailable,
)
from tests.integration.runtime.conftest import Spaces, libpq, spaces_for
from tests.integration.runtime.test_data import ALL, CREATE, INSERT, Boom, notes, with_notes

pytestmark = pytest.mark.postgres
WHO = text("SELECT current_user, current_setting('search_path'), pg_backend_pid()")


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """A pool of exactly one connection: every transaction reuses it."""
    made = tenant_data_engine(postgres_url, pool_size=1, max_overflow=0)
    yield made
    await made.dispose()


@pytest.fixture
async def shared(postgres_url: str, engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[Spaces]:
    made = await spaces_for("postgres-schema", tmp_path, postgres_url, engine)
    yield made
    await made.close()


async def raw_session(engine: AsyncEngine) -> tuple[Any, ...]:
    """Role, search path and backend of the pooled connection, read past the guard."""
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        row = await (await driver.execute(WHO.text)).fetchone()
    assert row is not None
    return tuple(row)


async def test_one_pooled_connection_never_shows_b_what_a_wrote(
    shared: Spaces, engine: AsyncEngine
) -> None:
    a = await with_notes(shared, (1, "a's secret"))
    b = await with_notes(shared)
    _, _, pid = await raw_session(engine)
    with pytest.raises(Boom):  # an exception in A's transaction
        async with a.transaction() as conn:
            await conn.execute(INSERT, {"i": 2, "b": "a's unfinished"})
            raise Boom
    assert await notes(b) == []
    async with a.transaction() as conn:  # a rolled-back savepoint in A's transaction
        savepoint = await conn.begin_nested()
        await conn.execute(INSERT, {"i": 3, "b": "a's undone"})
        await savepoint.rollback()
    assert await notes(b) == []
    async with b.transaction() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 0
    assert await notes(a) == [(1, "a's secret")]
    assert (await raw_session(engine))[2] == pid  # all on the same server connection


async def test_role_and_search_path_last_one_transaction(
    shared: Spaces, engine: AsyncEngine
) -> None:
    a, b = await shared.data(), await shared.data()
    login, path, _ = await raw_session(engine)
    assert path == ""  # tenant-data connections start with no schema to resolve names in
    for data in (a, b, a):
        async with data.transaction() as conn:
            user, search_path, _ = (await conn.execute(WHO)).one()
        assert user == f"tr_{data.tenant_id}__prod"
        assert search_path == f"t_{data.tenant_id}__prod"
        assert (await raw_session(engine))[:2] == (login, "")
    with pytest.raises(Boom):
        async with a.transaction():
            raise Boom
    assert (await raw_session(engine))[:2] == (login, "")


async def test_a_tenant_role_cannot_read_another_schema(shared: Spaces) -> None:
    a = await with_notes(shared, (1, "a"))
    b = await with_notes(shared, (1, "b's secret"))
    other = f'"t_{b.tenant_id}__prod"'
    for query in (
        "SELECT * FROM {}.notes",
        "SELECT * FROM {}.tenantry_identity",
        "INSERT INTO {}.notes VALUES (2, 'planted')",
    ):
        with pytest.raises(TenantDataForbidden) as caught:
            async with a.transaction() as conn:
                await conn.execute(text(query.format(other)))
        assert caught.value.code == "tenant_data.forbidden"
        assert isinstance(caught.value.__cause__, Exception)
    assert await notes(a) == [(1, "a")]
    assert await notes(b) == [(1, "b's secret")]


async def test_many_tenants_interleaved_on_a_small_pool(postgres_url: str, tmp_path: Path) -> None:
    engine = tenant_data_engine(postgres_url, pool_size=3, max_overflow=0)
    spaces = await spaces_for("postgres-schema", tmp_path, postgres_url, engine)
    try:
        tenants = [await with_notes(spaces) for _ in range(8)]

        async def one(i: int, data: TenantData) -> None:
            async with data.transaction() as conn:
                await conn.execute(INSERT, {"i": i, "b": data.tenant_id})
                await asyncio.sleep(random.random() / 1000)
                bodies = set((await conn.execute(text("SELECT body FROM notes"))).scalars())
            assert bodies == {data.tenant_id}

        jobs = [(i, tenants[i % len(tenants)]) for i in range(200)]
        random.shuffle(jobs)
        await asyncio.gather(*(one(i, data) for i, data in jobs))
        for index, data in enumerate(tenants):
            assert [row[0] for row in await notes(data)] == list(range(index, 200, len(tenants)))
    finally:
        await spaces.close()
        await engine.dispose()


async def test_dedicated_databases_share_a_bounded_engine_cache(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = tenant_data_engine(postgres_url, pool_size=1, max_overflow=0)
    spaces = await spaces_for("postgres-database", tmp_path, postgres_url, engine)
    spaces.source = PostgresTenantDataSource(engine, max_databases=1)
    try:
        first, second = await with_notes(spaces, (1, "first")), await with_notes(spaces)
        for _ in range(3):  # each switch evicts (and disposes of) the other's engine
            assert await notes(first) == [(1, "first")]
            assert await notes(second) == []
    finally:
        await spaces.close()
        await engine.dispose()


async def test_a_dropped_database_is_not_found(postgres_url: str, tmp_path: Path) -> None:
    engine = tenant_data_engine(postgres_url, pool_size=1, max_overflow=0)
    spaces = await spaces_for("postgres-database", tmp_path, postgres_url, engine)
    try:
        data = await with_notes(spaces)
        await spaces.source.close()  # no pooled connection keeps the database busy
        await spaces.provisioner.retire(spaces.made.pop())
        with pytest.raises(NotProvisioned):
            async with data.transaction() as conn:
                await conn.execute(ALL)
    finally:
        await spaces.close()
        await engine.dispose()


async def test_a_killed_connection_is_unavailable_then_replaced(
    shared: Spaces, engine: AsyncEngine, postgres_url: str
) -> None:
    data = await with_notes(shared, (1, "kept"))
    _, _, pid = await raw_session(engine)
    async with await psycopg.AsyncConnection.connect(libpq(postgres_url), autocommit=True) as db:
        await db.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(TenantDataUnavailable) as caught:
        async with data.transaction() as conn:
            await conn.execute(ALL)
    assert caught.value.kind.transient
    assert await notes(data) == [(1, "kept")]  # the pool moved on to a new connection


async def test_another_engine_gets_autocommit_per_checkout(
    postgres_url: str, tmp_path: Path
) -> None:
    plain = create_async_engine(postgres_url.replace("postgresql:", "postgresql+psycopg:", 1))
    spaces = await spaces_for("postgres-schema", tmp_path, postgres_url, plain)
    try:
        data = await with_notes(spaces, (1, "one"))
        assert await notes(data) == [(1, "one")]
        async with data.transaction() as conn:
            user = (await conn.execute(text("SELECT current_user"))).scalar_one()
        assert user == f"tr_{data.tenant_id}__prod"
    finally:
        await spaces.close()
        await plain.dispose()


async def test_create_is_ours_to_grant_only_in_our_schema(shared: Spaces) -> None:
    data = await shared.data()
    with pytest.raises(TenantDataForbidden):
        async with data.transaction() as conn:
            await conn.execute(text("CREATE TABLE public.leak (id int)"))
    async with data.transaction() as conn:
        await conn.execute(CREATE)  # unqualified: lands in the tenant's schema
        schema = (
            await conn.execute(text("SELECT schemaname FROM pg_tables WHERE tablename = 'notes'"))
        ).scalars()
        assert f"t_{data.tenant_id}__prod" in set(schema)

"""The tenant-data contract on every backend: a transaction placed in the tenant environment's
space, committed or rolled back as a whole, isolated from every other tenant, and a guard that
refuses queries outside a transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.backends.postgres.data import PostgresTenantDataSource
from tenantry.core.errors import InvalidInput
from tenantry.runtime.data import NotProvisioned, OutsideScope, TenantData
from tenantry.tenancy.isolation.placement import Placement, Relational, RelationalPlacement
from tests.integration.runtime.conftest import Spaces, new_tenant

CREATE = text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
INSERT = text("INSERT INTO notes (id, body) VALUES (:i, :b)")
ALL = text("SELECT id, body FROM notes ORDER BY id")


class Boom(Exception):
    pass


async def notes(data: TenantData) -> list[tuple[object, ...]]:
    async with data.transaction() as conn:
        return [tuple(row) for row in (await conn.execute(ALL)).all()]


async def with_notes(spaces: Spaces, *rows: tuple[int, str]) -> TenantData:
    data = await spaces.data()
    async with data.transaction() as conn:
        await conn.execute(CREATE)
        for i, body in rows:
            await conn.execute(INSERT, {"i": i, "b": body})
    return data


async def test_a_transaction_commits_as_a_whole(spaces: Spaces) -> None:
    data = await with_notes(spaces, (1, "one"), (2, "two"))
    assert await notes(data) == [(1, "one"), (2, "two")]
    async with data.transaction() as conn:
        identity = (await conn.execute(text("SELECT * FROM tenantry_identity"))).all()
    assert [tuple(row) for row in identity] == [(data.tenant_id, data.env_id)]


async def test_an_exception_rolls_everything_back(spaces: Spaces) -> None:
    data = await with_notes(spaces, (1, "one"))
    with pytest.raises(Boom):
        async with data.transaction() as conn:
            await conn.execute(INSERT, {"i": 2, "b": "two"})
            raise Boom
    assert await notes(data) == [(1, "one")]


async def test_a_rolled_back_savepoint_keeps_the_rest(spaces: Spaces) -> None:
    data = await with_notes(spaces)
    async with data.transaction() as conn:
        await conn.execute(INSERT, {"i": 1, "b": "kept"})
        savepoint = await conn.begin_nested()
        await conn.execute(INSERT, {"i": 2, "b": "undone"})
        await savepoint.rollback()
        await conn.execute(INSERT, {"i": 3, "b": "kept too"})
    assert await notes(data) == [(1, "kept"), (3, "kept too")]


async def test_ddl_is_transactional(spaces: Spaces) -> None:
    data = await spaces.data()
    with pytest.raises(Boom):
        async with data.transaction() as conn:
            await conn.execute(CREATE)
            raise Boom
    async with data.transaction() as conn:
        await conn.execute(CREATE)  # the first CREATE left nothing behind


async def test_tenants_with_the_same_table_see_only_their_rows(spaces: Spaces) -> None:
    acme = await with_notes(spaces, (1, "acme's"))
    bigcorp = await with_notes(spaces, (1, "bigcorp's"), (2, "bigcorp's too"))
    assert await notes(acme) == [(1, "acme's")]
    assert await notes(bigcorp) == [(1, "bigcorp's"), (2, "bigcorp's too")]
    async with acme.transaction() as conn:
        await conn.execute(text("DELETE FROM notes"))
    assert len(await notes(bigcorp)) == 2


async def test_environments_of_one_tenant_are_apart(spaces: Spaces) -> None:
    tenant = new_tenant()
    prod, staging = await spaces.data(tenant, "prod"), await spaces.data(tenant, "staging")
    for data, body in ((prod, "live"), (staging, "test")):
        async with data.transaction() as conn:
            await conn.execute(CREATE)
            await conn.execute(INSERT, {"i": 1, "b": body})
    assert await notes(prod) == [(1, "live")]
    assert await notes(staging) == [(1, "test")]


async def _engine(spaces: Spaces, data: TenantData) -> AsyncEngine:
    source = spaces.source
    if isinstance(source, PostgresTenantDataSource):
        database = None if spaces.kind == "postgres-schema" else f"tenant_{data.tenant_id}__prod"
        return await source.engine(database)
    return await source.engine(source.path(data.tenant_id, data.env_id))


async def test_the_guard_refuses_queries_outside_a_transaction(spaces: Spaces) -> None:
    data = await with_notes(spaces, (1, "secret"))
    engine = await _engine(spaces, data)
    async with engine.connect() as conn:
        with pytest.raises(OutsideScope) as caught:
            await conn.execute(text("SELECT 1"))
    assert caught.value.code == "tenant_data.outside_scope"
    with pytest.raises(OutsideScope):
        async with engine.begin() as conn:
            await conn.execute(ALL)


async def test_ending_the_transaction_early_ends_the_scope(spaces: Spaces) -> None:
    data = await with_notes(spaces)
    for i, end in enumerate(("commit", "rollback")):
        with pytest.raises((OutsideScope, InvalidRequestError)):
            async with data.transaction() as conn:
                await conn.execute(INSERT, {"i": i, "b": end})
                await getattr(conn, end)()
                await conn.execute(ALL)
    assert await notes(data) == [(0, "commit")]


async def test_an_unprovisioned_environment_is_not_found(spaces: Spaces) -> None:
    data = spaces.source.bind(spaces.placement(new_tenant()))
    with pytest.raises(NotProvisioned) as caught:
        async with data.transaction() as conn:
            await conn.execute(ALL)
    assert caught.value.code == "tenant_data.not_provisioned"


def _forged(placement: Placement, **changes: object) -> Placement:
    relational = placement.relational
    fields = {"mode": relational.mode, "name": relational.name, "role": relational.role}
    fields.update(changes)
    return Placement(
        placement.tenant_id,
        placement.env_id,
        placement.profile,
        RelationalPlacement(**fields),  # type: ignore[arg-type]
        placement.objects,
        placement.messaging,
        placement.runtime_pool,
        placement.key_ref,
    )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"mode": Relational.EXTERNAL}, "placement."),
        ({"name": "t_other__prod"}, "placement.mismatch"),
        ({"role": "postgres"}, "placement.mismatch"),
    ],
)
async def test_a_forged_placement_is_refused(
    spaces: Spaces, changes: dict[str, object], code: str
) -> None:
    placement = _forged(spaces.placement(new_tenant()), **changes)
    if spaces.kind == "sqlite" and "mode" not in changes:
        pytest.skip("the embedded file is named from the ids alone")
    with pytest.raises(InvalidInput) as caught:
        spaces.source.bind(placement)
    assert caught.value.code.startswith(code)


@pytest.mark.parametrize("tenant", ["../acme", "Acme", "acme/prod", "a" * 33, ""])
async def test_bad_ids_in_a_placement_are_refused(spaces: Spaces, tenant: str) -> None:
    placement = spaces.placement("acme")
    forged = Placement(
        tenant,
        placement.env_id,
        placement.profile,
        placement.relational,
        placement.objects,
        placement.messaging,
        placement.runtime_pool,
        placement.key_ref,
    )
    with pytest.raises(InvalidInput):
        spaces.source.bind(forged)

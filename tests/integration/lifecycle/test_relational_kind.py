"""The relational kind's export and import on SQLite and PostgreSQL: tables made again from the
catalog (keys, foreign keys, identities, generated columns, indexes) and every row back."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import text

from tenantry.bootstrap import Services
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.lifecycle.archives import Record
from tenantry.tenancy.lifecycle.kinds import relational
from tests.integration.lifecycle.test_archive import _scope, _tenant

SQLITE = (
    "CREATE TABLE teams (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL)",
    "CREATE TABLE people (id INTEGER PRIMARY KEY, team INTEGER REFERENCES teams (id),"
    " name TEXT NOT NULL DEFAULT 'x', photo BLOB, CHECK (length(name) > 0))",
    "CREATE INDEX people_name ON people (name)",
    "CREATE TRIGGER people_upper AFTER INSERT ON people BEGIN SELECT 1; END",
)
POSTGRES = (
    "CREATE TABLE teams (id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " name TEXT UNIQUE NOT NULL)",
    "CREATE TABLE people (id BIGSERIAL PRIMARY KEY, team INTEGER REFERENCES teams (id),"
    " name TEXT NOT NULL DEFAULT 'x', shout TEXT GENERATED ALWAYS AS (upper(name)) STORED,"
    " photo BYTEA, born DATE, money NUMERIC(10, 2), CHECK (length(name) > 0))",
    "CREATE INDEX people_name ON people (lower(name))",
)


async def _fill(scope: TenantScope) -> None:
    postgres = scope.data.dialect == "postgresql"
    async with scope.data.transaction() as conn:
        for statement in POSTGRES if postgres else SQLITE:
            await conn.execute(text(statement))
        await conn.execute(text("INSERT INTO teams (name) VALUES ('red'), ('blue')"))
        extra = (
            ", born, money) VALUES (:t, :n, :p, '2001-02-03', 12.5)"
            if postgres
            else ") VALUES (:t, :n, :p)"
        )
        for n in range(5):
            row = {"t": 1 + n % 2, "n": f"name {n} 'quoted' \\ ✓", "p": bytes([n, 0, 255])}
            await conn.execute(text("INSERT INTO people (team, name, photo" + extra), row)


async def _rows(scope: TenantScope) -> list[object]:
    async with scope.data.transaction() as conn:
        teams = (await conn.execute(text("SELECT * FROM teams ORDER BY id"))).all()
        people = (await conn.execute(text("SELECT * FROM people ORDER BY id"))).all()
    return [tuple(r) for r in [*teams, *people]]


async def _replay(records: list[Record]) -> AsyncIterator[Record]:
    for record in records:
        yield record


async def test_tables_come_back_from_their_catalog_with_every_row(stack: Services) -> None:
    tenant = await _tenant(stack)
    scope = await _scope(stack, tenant, "prod")
    await _fill(scope)
    before = await _rows(scope)
    records = [record async for record in relational.export(scope)]
    assert [r.meta["name"] for r in records if r.header] == ["teams", "people"]
    assert await relational.count(scope) == 7
    async with scope.data.transaction() as conn:
        await conn.execute(text("DROP TABLE people"))
        await conn.execute(text("DROP TABLE teams"))
    assert await relational.restore(scope, _replay(records)) == 7
    assert await relational.restore(scope, _replay(records)) == 7  # again, over itself
    assert await _rows(scope) == before
    async with scope.data.transaction() as conn:
        await conn.execute(text("INSERT INTO teams (name) VALUES ('green')"))
        await conn.execute(text("INSERT INTO people (team, name) VALUES (3, 'next')"))
        ids = (await conn.execute(text("SELECT max(id) FROM people"))).scalar_one()
        team = (await conn.execute(text("SELECT id FROM teams WHERE name = 'green'"))).scalar()
    assert (ids, team) == (6, 3)  # sequences and identities went on from the restored rows

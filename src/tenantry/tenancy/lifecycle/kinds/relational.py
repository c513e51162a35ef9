"""The tenant's own tables in archives: for each table a header (its DDL, read from the
database's catalog) and then its rows, read and written through ``scope.data``.

The platform's tables (``tenantry_*``: identity and search, which the search kind carries) and
the tenant migrations' ``alembic_version`` stay out: a restore provisions them afresh. On
PostgreSQL every value travels as its text form and is cast back to its column's type, so any
type round-trips; on SQLite values are stored as they are (bytes in base64).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.lifecycle.archives import Exportable, Record
from tenantry.tenancy.lifecycle.kinds import catalog
from tenantry.tenancy.lifecycle.kinds.catalog import Table, quoted

BATCH: Final = 1000  # rows per INSERT round trip


async def export(scope: TenantScope) -> AsyncIterator[Record]:
    async with scope.data.transaction() as conn:
        tables = await catalog.tables(conn, scope.data.dialect)
        for table in tables:
            yield Record(table.as_meta(), header=True)
            select = text(f"SELECT {table.select_list()} FROM {quoted(table.name)}")  # noqa: S608
            result = await conn.stream(select)
            async for row in result:
                yield Record({"r": [_plain(value) for value in row]})


async def restore(scope: TenantScope, records: AsyncIterator[Record]) -> int:
    """One transaction: each table is dropped if a half-done run left it, made, and filled;
    indexes, triggers and foreign keys come last."""
    restored, table = 0, None
    rows: list[list[Any]] = []
    after: list[str] = []
    async with scope.data.transaction() as conn:
        if scope.data.dialect == "sqlite":
            await conn.execute(text("PRAGMA defer_foreign_keys = ON"))
        async for record in records:
            if record.header:
                await _insert(conn, table, rows)
                table, rows = Table.of_meta(record.meta), []
                await _create(conn, table, scope.data.dialect)
                after += table.after
                continue
            rows.append(record.meta["r"])
            restored += 1
            if len(rows) >= BATCH:
                await _insert(conn, table, rows)
                rows = []
        await _insert(conn, table, rows)
        for statement in after:
            await conn.exec_driver_sql(statement)
    return restored


async def _create(conn: AsyncConnection, table: Table, dialect: str) -> None:
    cascade = " CASCADE" if dialect == "postgresql" else ""
    await conn.execute(text(f"DROP TABLE IF EXISTS {quoted(table.name)}{cascade}"))
    for statement in table.create:
        await conn.exec_driver_sql(statement)


async def _insert(conn: AsyncConnection, table: Table | None, rows: list[list[Any]]) -> None:
    if table is None or not rows:
        return
    names = [f"p{i}" for i in range(len(table.columns))]
    statement = text(table.insert(names))
    await conn.execute(statement, [dict(zip(names, map(_typed, row), strict=True)) for row in rows])


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and "$b" in value:
        return base64.b64decode(value["$b"])
    return value


async def count(scope: TenantScope) -> int:
    async with scope.data.transaction() as conn:
        total = 0
        for table in await catalog.tables(conn, scope.data.dialect):
            counted = await conn.execute(text(f"SELECT count(*) FROM {quoted(table.name)}"))  # noqa: S608
            total += int(counted.scalar_one())
        return total


RELATIONAL = Exportable("relational", export, restore, count)

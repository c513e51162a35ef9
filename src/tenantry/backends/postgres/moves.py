"""Relational moves on PostgreSQL: a tenant environment's tables between its schema in the
shared database (mt-standard) and its own database (st-dedicated), on one server.

Everything runs in transactions entered as the tenant environment's role (``SET LOCAL ROLE``),
so the copy can read and write exactly what the tenant can. The source is read from one
``REPEATABLE READ`` snapshot; each table goes through ``COPY ... TO STDOUT (FORMAT binary)``
streamed into ``COPY ... FROM STDIN (FORMAT binary)`` on the target, in one target transaction
that empties the tables first (``TRUNCATE``): a re-run copies again, never twice. Generated
columns are left to the target to compute.

Tables of the tenant migration tree exist on the target already (the recipe runs the tree
there first); :meth:`PostgresRelationalMover.prepare` makes the tenant's own tables from the
source's catalog (columns, defaults, identity, constraints, indexes, sequences), rendered with
the source schema on the ``search_path`` so that no name is qualified. The checksum of a table
is the sum, over its rows, of the first 64 bits of the MD5 of the row's text: independent of
row order, compared with the row count.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import psycopg
from psycopg import sql

from tenantry.backends.postgres.errors import translated
from tenantry.backends.postgres.pools import Pool
from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.isolation.placement import Placement, Relational
from tenantry.tenancy.lifecycle.moving import Copied, Refreshed, TableSum

Connection = psycopg.AsyncConnection[tuple[Any, ...]]
# Tables the platform writes itself in every placement (the migration tree's version, the
# identity row the migrator adds): never copied, never checksummed.
PLATFORM_TABLES: Final = frozenset({"alembic_version", "tenantry_identity"})
_TABLES: Final = (
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    " ORDER BY c.relname"
)
_COLUMNS: Final = (
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
    " pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated"
    " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
)
_CONSTRAINTS: Final = (
    "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'c', 'f', 'x') ORDER BY conname"
)
_INDEXES: Final = (
    "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
    " WHERE i.indrelid = %s::regclass AND NOT EXISTS"
    " (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
)
_REFERENCES: Final = (
    "SELECT c.relname, r.relname FROM pg_constraint k"
    " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE k.contype = 'f' AND n.nspname = current_schema()"
)
_SEQUENCES: Final = (
    "SELECT c.relname, EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid"
    " AND d.deptype = 'i') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = current_schema() AND c.relkind = 'S' ORDER BY c.relname"
)


class PostgresRelationalMover:
    """``tenancy.lifecycle.moving.RelationalMover`` on one PostgreSQL server.

    ``dsn`` is the shared tenant database's (libpq form); dedicated databases are reached on
    the same server with the same credentials.
    """

    def __init__(self, dsn: str, *, connections: int = 4) -> None:
        self._dsn = dsn
        self._shared = Pool(dsn, size=connections)

    def moves(self, source: Placement, target: Placement) -> bool:
        return _where(source) != _where(target)

    async def prepare(self, source: Placement, target: Placement) -> None:
        async with (
            self._entered(source, read_only=True) as src,
            self._entered(target) as dst,
        ):
            have = set(await _names(dst, _TABLES))
            for statement in await _definitions(src, exclude=have | PLATFORM_TABLES):
                await dst.execute(statement)

    async def copy(
        self, source: Placement, target: Placement, tables: Sequence[str] | None = None
    ) -> Copied:
        copied: dict[str, int] = {}
        async with (
            self._entered(source, read_only=True) as src,
            self._entered(target) as dst,
        ):
            every = [t for t in await _names(src, _TABLES) if t not in PLATFORM_TABLES]
            chosen = _ordered(
                [t for t in every if tables is None or t in tables], await _references(src)
            )
            if chosen:
                listed = sql.SQL(", ").join(sql.Identifier(t) for t in chosen)
                await dst.execute(sql.SQL("TRUNCATE {}").format(listed))
            for table in chosen:
                copied[table] = await _copy_table(src, dst, table)
            await _sequences(src, dst)
            sums = await _sums(src, chosen)  # in the snapshot the copy read
        return Copied(copied, sums)

    async def refresh(
        self, source: Placement, target: Placement, recorded: Mapping[str, TableSum]
    ) -> Refreshed:
        async with (
            self._entered(source, read_only=True) as src,
            self._entered(target) as dst,
        ):
            now = await _sums(src)
            for gone in sorted(set(recorded) - set(now)):  # dropped at the source since
                await dst.execute(
                    sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(gone))
                )
            stale = [t for t in now if recorded.get(t) != now[t]]
            if not stale:
                return Refreshed([], now, {})
            if any(t not in recorded for t in stale):  # made since the copy
                have = set(await _names(dst, _TABLES))
                for statement in await _definitions(src, exclude=have | PLATFORM_TABLES):
                    await dst.execute(statement)
            chosen = _ordered(stale, await _references(src))
            listed = sql.SQL(", ").join(sql.Identifier(t) for t in chosen)
            await dst.execute(sql.SQL("TRUNCATE {}").format(listed))
            for table in chosen:
                await _copy_table(src, dst, table)
            await _sequences(src, dst)
            return Refreshed(chosen, now, await _sums(dst, chosen))

    async def sums(
        self, placement: Placement, tables: Sequence[str] | None = None
    ) -> dict[str, TableSum]:
        async with self._entered(placement, read_only=True) as db:
            return await _sums(db, tables)

    async def drop(self, placement: Placement) -> None:
        mode, name = _where(placement)
        drop = (
            "DROP SCHEMA IF EXISTS {} CASCADE"
            if mode is Relational.SHARED_SCHEMA
            else "DROP DATABASE IF EXISTS {} WITH (FORCE)"
        )
        async with self._shared.connection() as db:
            await db.execute(sql.SQL(drop).format(sql.Identifier(name)))

    async def close(self) -> None:
        await self._shared.close()

    @asynccontextmanager
    async def _entered(
        self, placement: Placement, *, read_only: bool = False
    ) -> AsyncIterator[Connection]:
        """A connection in one transaction as the environment's role, its tables unqualified
        (the source's from one snapshot when ``read_only``)."""
        mode, name = _where(placement)
        role = names.sql_role(placement.tenant_id, placement.env_id)
        path = name if mode is Relational.SHARED_SCHEMA else "public"
        dsn = self._dsn if mode is Relational.SHARED_SCHEMA else _on(self._dsn, name)
        async with translated():
            db = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        try:
            isolation = "REPEATABLE READ, READ ONLY" if read_only else "READ COMMITTED"
            await db.execute(sql.SQL("BEGIN ISOLATION LEVEL " + isolation))
            await db.execute(
                sql.SQL(
                    "SET LOCAL ROLE {}; SET LOCAL search_path TO {}; SET LOCAL TimeZone TO 'UTC'"
                ).format(sql.Identifier(role), sql.Identifier(path))
            )
            yield db
            await db.execute("COMMIT")
        except BaseException:
            if not db.closed:
                await db.execute("ROLLBACK")
            raise
        finally:
            await db.close()


def _where(placement: Placement) -> tuple[Relational, str]:
    """The placement's mode and schema or database name, checked against ``core.names``."""
    relational, tenant, env = placement.relational, placement.tenant_id, placement.env_id
    if relational.mode is Relational.SHARED_SCHEMA:
        expected = names.sql_schema(tenant, env)
    elif relational.mode is Relational.DEDICATED_DATABASE:
        expected = names.sql_database(tenant, env)
    else:
        raise InvalidInput(
            f"tenant {tenant!r} is st-byoc: its database is the customer's",
            code="placement.external",
        )
    if relational.name != expected:
        raise InvalidInput(
            f"placement of {tenant}/{env} names {relational.name!r}, not {expected!r}",
            code="placement.mismatch",
        )
    return relational.mode, expected


def _on(dsn: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, dbname=database)


async def _sums(db: Connection, tables: Sequence[str] | None = None) -> dict[str, TableSum]:
    found: dict[str, TableSum] = {}
    for table in await _names(db, _TABLES):
        if table in PLATFORM_TABLES or (tables is not None and table not in tables):
            continue
        query = sql.SQL(
            "SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 16))"
            "::bit(64)::bigint), 0)::text FROM {} AS t"
        ).format(sql.Identifier(table))
        row = await (await db.execute(query)).fetchone()
        found[table] = TableSum(int(row[0]), str(row[1])) if row else TableSum(0, "0")
    return found


async def _names(db: Connection, query: str, *params: Any) -> list[str]:
    rows = await (await db.execute(query, params or None)).fetchall()
    return [str(r[0]) for r in rows]


async def _references(db: Connection) -> list[tuple[str, str]]:
    rows = await (await db.execute(_REFERENCES)).fetchall()
    return [(str(child), str(parent)) for child, parent in rows]


def _ordered(tables: list[str], references: list[tuple[str, str]]) -> list[str]:
    """Referenced tables before the tables that reference them (cycles keep their order)."""
    done: list[str] = []
    pending = list(tables)
    while pending:
        ready = [
            t for t in pending if not any(c == t and p in pending and p != t for c, p in references)
        ]
        if not ready:
            done.extend(pending)
            break
        done.extend(ready)
        pending = [t for t in pending if t not in ready]
    return done


async def _columns(db: Connection, table: str) -> list[tuple[Any, ...]]:
    return list(await (await db.execute(_COLUMNS, (_quoted(table),))).fetchall())


def _quoted(table: str) -> str:
    return '"' + table.replace('"', '""') + '"'


async def _copy_table(src: Connection, dst: Connection, table: str) -> int:
    columns = [c[0] for c in await _columns(src, table) if not c[5]]  # generated: computed
    listed = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    name = sql.Identifier(table)
    out = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)").format(listed, name)
    into = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(name, listed)
    async with src.cursor().copy(out) as reading, dst.cursor().copy(into) as writing:
        async for chunk in reading:
            await writing.write(chunk)
    row = await (await dst.execute(sql.SQL("SELECT count(*) FROM {}").format(name))).fetchone()
    return int(row[0]) if row else 0


async def _sequences(src: Connection, dst: Connection) -> None:
    """Each sequence's position, so the target hands out the numbers the source would."""
    rows = await (await src.execute(_SEQUENCES)).fetchall()
    have = set(await _names(dst, _SEQUENCES))
    for name, _ in rows:
        if name not in have:
            continue
        seq = sql.Identifier(str(name))
        found = await (
            await src.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(seq))
        ).fetchone()
        if found is not None:
            await dst.execute(
                "SELECT setval(%s::regclass, %s, %s)", (_quoted(str(name)), found[0], found[1])
            )


async def _definitions(db: Connection, *, exclude: set[str]) -> list[sql.Composed | sql.SQL]:
    """DDL for the tables not in ``exclude``: free sequences, tables, then constraints and
    indexes (foreign keys last, once every table exists)."""
    tables = [t for t in await _names(db, _TABLES) if t not in exclude]
    if not tables:
        return []
    first: list[sql.Composed | sql.SQL] = []
    later: list[sql.Composed | sql.SQL] = []
    for name, owned_by_identity in await (await db.execute(_SEQUENCES)).fetchall():
        if not owned_by_identity:
            first.append(
                sql.SQL("CREATE SEQUENCE IF NOT EXISTS {}").format(sql.Identifier(str(name)))
            )
    for table in tables:
        columns = [_column(c) for c in await _columns(db, table)]
        first.append(
            sql.SQL("CREATE TABLE {} ({})").format(
                sql.Identifier(table), sql.SQL(", ").join(columns)
            )
        )
        rows = await (await db.execute(_CONSTRAINTS, (_quoted(table),))).fetchall()
        for constraint, kind, definition in rows:
            statement = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table), sql.Identifier(str(constraint)), sql.SQL(str(definition))
            )
            (later if kind == "f" else first).append(statement)
        for (index,) in await (await db.execute(_INDEXES, (_quoted(table),))).fetchall():
            first.append(sql.SQL(str(index)))
    return first + later


def _column(column: tuple[Any, ...]) -> sql.Composable:
    name, kind, not_null, default, identity, generated = column
    parts: list[sql.Composable] = [sql.Identifier(str(name)), sql.SQL(str(kind))]
    if generated:
        parts.append(sql.SQL("GENERATED ALWAYS AS ({}) STORED").format(sql.SQL(str(default))))
    elif identity:
        how = "ALWAYS" if identity == "a" else "BY DEFAULT"
        parts.append(sql.SQL(f"GENERATED {how} AS IDENTITY"))
    elif default is not None:
        parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(str(default))))
    if not_null:
        parts.append(sql.SQL("NOT NULL"))
    return sql.SQL(" ").join(parts)

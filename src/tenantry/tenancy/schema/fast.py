"""The fast path for tenant schemas on a shared PostgreSQL database.

Alembic renders the SQL of a revision range once (offline mode); it is then applied to every
tenant schema that starts from that revision, concurrently, on pooled connections — each
tenant in its own transaction with a transaction-local search path. A fleet migration costs
one rendering plus one short transaction per tenant, instead of one Alembic run per tenant.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from tenantry.tenancy.schema.runner import render
from tenantry.tenancy.schema.targets import Target

Connection = psycopg.AsyncConnection[tuple[object, ...]]


class SchemaApplier:
    def __init__(self, tree: Path, head: str, *, connections: int = 8) -> None:
        self._tree, self._head, self._size = tree, head, connections
        self._scripts: dict[str | None, str] = {}
        self._rendering = asyncio.Lock()
        self._idle: dict[str, list[Connection]] = {}
        self._slots = asyncio.Semaphore(connections)

    async def upgrade(self, target: Target) -> str:
        """Bring one shared-schema target to head; returns the head revision.

        Two round trips: the recorded revision, then one batch that opens a transaction, sets
        its search path, runs the rendered SQL, writes the identity row and commits.
        """
        if target.schema is None:
            raise ValueError("the fast path serves tenant schemas only")
        async with self._connection(target.url) as db:
            start = await _revision(db, target.schema)
            if start != self._head:
                await db.execute(_batch(target, await self._script(start)))
        return self._head

    async def _script(self, start: str | None) -> str:
        async with self._rendering:
            if start not in self._scripts:
                self._scripts[start] = await asyncio.to_thread(render, self._tree, start)
        return self._scripts[start]

    @asynccontextmanager
    async def _connection(self, url: str) -> AsyncIterator[Connection]:
        async with self._slots:
            idle = self._idle.setdefault(url, [])
            db = idle.pop() if idle else await _connect(url)
            try:
                yield db
            except BaseException:
                await db.close()  # a failed batch leaves its transaction open: never reuse it
                raise
            if db.closed or db.broken:
                await db.close()
            else:
                idle.append(db)

    async def close(self) -> None:
        for idle in self._idle.values():
            for db in idle:
                await db.close()
        self._idle.clear()


async def _revision(db: Connection, schema: str) -> str | None:
    query = sql.SQL("SELECT version_num FROM {}.alembic_version").format(sql.Identifier(schema))
    try:
        row = await (await db.execute(query)).fetchone()
    except psycopg.errors.UndefinedTable:  # a new schema (autocommit: nothing to roll back)
        return None
    return str(row[0]) if row else None


def _batch(target: Target, script: str) -> sql.Composed:
    """One simple-protocol round trip; a failing statement aborts the whole transaction."""
    return sql.SQL(
        "BEGIN; SET LOCAL search_path TO {schema}; {script}; "
        "INSERT INTO tenantry_identity (tenant_id, env_id) VALUES ({tenant}, {env}) "
        "ON CONFLICT DO NOTHING; COMMIT"
    ).format(
        schema=sql.Identifier(str(target.schema)),
        script=sql.SQL(script),  # rendered by Alembic from our own migration tree
        tenant=sql.Literal(target.tenant_id),
        env=sql.Literal(target.env_id),
    )


async def _connect(url: str) -> Connection:
    return await psycopg.AsyncConnection.connect(_libpq(url), autocommit=True)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

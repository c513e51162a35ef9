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
from sqlalchemy.engine import make_url

from tenantry.tenancy.schema.runner import CLAIM, render
from tenantry.tenancy.schema.targets import Target

Connection = psycopg.AsyncConnection[tuple[object, ...]]
_CLAIM = CLAIM.replace(":t", "%(t)s").replace(":e", "%(e)s")


class SchemaApplier:
    def __init__(self, tree: Path, head: str, *, connections: int = 8) -> None:
        self._tree, self._head, self._size = tree, head, connections
        self._scripts: dict[str | None, str] = {}
        self._rendering = asyncio.Lock()
        self._idle: dict[str, list[Connection]] = {}
        self._slots = asyncio.Semaphore(connections)

    async def upgrade(self, target: Target) -> str:
        """Bring one shared-schema target to head; returns the head revision."""
        if target.schema is None:
            raise ValueError("the fast path serves tenant schemas only")
        async with self._connection(target.url) as db, db.transaction():
            await db.execute("SELECT set_config('search_path', %s, true)", (f'"{target.schema}"',))
            start = await _revision(db)
            if start != self._head:
                await db.execute(await self._script(start))
            await db.execute(_CLAIM, {"t": target.tenant_id, "e": target.env_id})
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
            db = idle.pop() if idle else await psycopg.AsyncConnection.connect(_libpq(url))
            try:
                yield db
            finally:
                if db.closed or db.broken:
                    await db.close()
                else:
                    idle.append(db)

    async def close(self) -> None:
        for idle in self._idle.values():
            for db in idle:
                await db.close()
        self._idle.clear()


async def _revision(db: Connection) -> str | None:
    found = await (await db.execute("SELECT to_regclass('alembic_version')")).fetchone()
    if found is None or found[0] is None:
        return None
    row = await (await db.execute("SELECT version_num FROM alembic_version")).fetchone()
    return str(row[0]) if row else None


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

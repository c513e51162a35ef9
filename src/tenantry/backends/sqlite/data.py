"""Tenant data on the embedded default: the tenant environment's SQLite file.

The file is ``{data_dir}/tenants/{tenant}/{env}.sqlite3`` (``core/names.py``), opened read-write
and never created here (the controller provisions it); a path that leaves the data directory
through a symlink is refused. One connection per transaction (no pool: a file handle per idle
tenant would add up), in SQLite's own transaction mode: ``BEGIN`` is sent when the transaction
starts, so savepoints and DDL are transactional as on PostgreSQL.
"""

from __future__ import annotations

import urllib.parse
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, Final

import aiosqlite
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tenantry.core import ids, names
from tenantry.core.errors import InvalidInput
from tenantry.runtime.data import NotProvisioned, TenantDataForbidden, guard, marked
from tenantry.tenancy.isolation.placement import Placement, Relational

FILE_ENGINES: Final = 64
BUSY_TIMEOUT: Final = 5.0  # seconds a writer waits for another writer's lock


class SqliteTenantDataSource:
    """Binds tenant environments to their SQLite files under ``root`` (the data directory)."""

    def __init__(self, root: Path, *, max_files: int = FILE_ENGINES) -> None:
        self._root = root.resolve()
        self._limit = max_files
        self._engines: OrderedDict[Path, AsyncEngine] = OrderedDict()

    def bind(self, placement: Placement) -> SqliteTenantData:
        if placement.relational.mode is Relational.EXTERNAL:
            raise InvalidInput(
                "st-byoc needs a customer database; the embedded default has none",
                code="placement.unsupported",
            )
        tenant, env = ids.tenant_id(placement.tenant_id), ids.env_id(placement.env_id)
        return SqliteTenantData(self, tenant, env)

    def path(self, tenant_id: str, env_id: str) -> Path:
        """The tenant environment's file, checked to be a plain file inside the root."""
        path = self._root / names.sqlite_path(tenant_id, env_id)
        if path.resolve() != path:
            raise TenantDataForbidden(
                f"the data file of {tenant_id}/{env_id} leaves the data directory (a symlink)"
            )
        if not path.is_file():
            raise NotProvisioned(f"tenant environment {tenant_id}/{env_id} has no data file")
        return path

    async def engine(self, path: Path) -> AsyncEngine:
        found = self._engines.pop(path, None) or _engine(path)
        self._engines[path] = found  # most recently used last
        while len(self._engines) > self._limit:
            _, evicted = self._engines.popitem(last=False)
            await evicted.dispose()
        return found

    async def close(self) -> None:
        while self._engines:
            _, engine = self._engines.popitem()
            await engine.dispose()


def _engine(path: Path) -> AsyncEngine:
    engine = create_async_engine(
        "sqlite+aiosqlite://", async_creator=partial(_connect, path), poolclass=NullPool
    )
    guard(engine)
    event.listen(engine.sync_engine, "connect", _on_connect)
    event.listen(engine.sync_engine, "begin", _on_begin)
    return engine


async def _connect(path: Path) -> aiosqlite.Connection:
    # mode=rw: a missing file is an error, never a new empty database.
    uri = f"file:{urllib.parse.quote(str(path))}?mode=rw"
    return await aiosqlite.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _on_begin(conn: Connection) -> None:
    # The driver is in autocommit mode; the transaction is ours to begin (SQLAlchemy's recipe
    # for transactional DDL and working savepoints on SQLite). IMMEDIATE takes the write lock
    # up front, so concurrent writers wait (busy timeout) instead of failing on lock upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class SqliteTenantData:
    """One tenant environment's SQLite file; see :mod:`tenantry.runtime.data`."""

    dialect = "sqlite"

    def __init__(self, source: SqliteTenantDataSource, tenant_id: str, env_id: str) -> None:
        self._source, self._tenant, self._env = source, tenant_id, env_id

    @property
    def tenant_id(self) -> str:
        return self._tenant

    @property
    def env_id(self) -> str:
        return self._env

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        engine = await self._source.engine(self._source.path(self._tenant, self._env))
        async with engine.connect() as conn:
            with marked(conn, self._tenant, self._env):
                async with conn.begin():
                    yield conn

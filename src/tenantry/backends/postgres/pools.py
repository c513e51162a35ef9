"""Connection pools for Tenantry's own PostgreSQL work (provisioning DDL, tenant migrations).

One lazily opened pool per server and purpose, so a fleet operation reuses a few connections
instead of connecting once per call. A server that is down surfaces as
:class:`~tenantry.backends.postgres.errors.PostgresUnavailable` after ``timeout`` seconds (or
``wait``, how long a caller may queue for a busy pool's connection, when that is longer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from tenantry.backends.postgres.errors import PostgresUnavailable, translated

Connection = psycopg.AsyncConnection[tuple[object, ...]]


class Pool:
    def __init__(
        self,
        dsn: str,
        *,
        size: int = 4,
        autocommit: bool = True,
        timeout: float = 3.0,
        wait: float | None = None,
    ) -> None:
        self._dsn, self._size, self._timeout = dsn, size, max(timeout, wait or 0.0)
        self._kwargs = {"autocommit": autocommit, "connect_timeout": max(1, int(timeout))}
        self._pool: AsyncConnectionPool[Connection] | None = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        pool = await self._opened()
        try:
            async with translated(), pool.connection(timeout=self._timeout) as connection:
                yield connection
        except PoolTimeout as error:
            raise PostgresUnavailable(
                f"PostgreSQL is unavailable: no connection within {self._timeout:g}s"
            ) from error

    async def _opened(self) -> AsyncConnectionPool[Connection]:
        if self._pool is None:
            self._pool = AsyncConnectionPool(
                self._dsn,
                min_size=0,
                max_size=self._size,
                kwargs=self._kwargs,
                open=False,  # a dead connection fails its call (transient) and is not returned
            )
            await self._pool.open(wait=False)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

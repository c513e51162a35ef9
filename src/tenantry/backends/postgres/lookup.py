"""The tenant status read on a PostgreSQL control database: one prepared point query.

It runs on a small psycopg pool of its own rather than through SQLAlchemy: the read is on the
path of every tenant request, and the ORM layer would cost more than the query.
"""

from __future__ import annotations

from typing import Final

from tenantry.backends.postgres.errors import PostgresUnavailable
from tenantry.backends.postgres.pools import Pool
from tenantry.tenancy.registry.errors import ControlDatabaseUnavailable
from tenantry.tenancy.scopes import (
    ROSTER_QUERY,
    STATUS_QUERY,
    Roster,
    TenantStatus,
    language_of,
    roster_of,
)

_QUERY: Final = STATUS_QUERY.format(
    placement="placement::text", language="settings -> 'language'", param="%s"
)
_ROSTER: Final = ROSTER_QUERY.format(param="%s")


class PostgresTenantLookup:
    def __init__(self, dsn: str, *, connections: int = 10, wait: float = 15.0) -> None:
        # A burst of requests queues for the connections (``wait``); connecting is quick to fail.
        self._pool = Pool(dsn, size=connections, wait=wait)

    async def status(self, tenant_id: str) -> TenantStatus | None:
        try:
            async with self._pool.connection() as connection:
                cursor = await connection.execute(_QUERY, (tenant_id,), prepare=True)
                row = await cursor.fetchone()
        except PostgresUnavailable as error:
            raise ControlDatabaseUnavailable(error.message) from error
        if row is None:
            return None
        state, placements, generation, language = row
        return TenantStatus(
            str(state),
            None if placements is None else str(placements),
            generation if isinstance(generation, int) else 0,
            language_of(language),
        )

    async def roster(self, tenant_id: str) -> Roster:
        try:
            async with self._pool.connection() as connection:
                cursor = await connection.execute(_ROSTER, (tenant_id,), prepare=True)
                rows = await cursor.fetchall()
        except PostgresUnavailable as error:
            raise ControlDatabaseUnavailable(error.message) from error
        return roster_of(rows)

    async def close(self) -> None:
        await self._pool.close()

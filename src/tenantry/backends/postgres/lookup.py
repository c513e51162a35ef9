"""The tenant status read on a PostgreSQL control database: one prepared indexed query.

It runs on a small psycopg pool of its own rather than through SQLAlchemy: the read is on the
path of every tenant request, and the ORM layer would cost more than the query. Reads asked for
at once are coalesced (``core.coalesce``): one query for every tenant asked for while the
previous ones ran, each caller answered by a query that started after it asked, so a state
committed before the call (a suspend, a migration) is always seen.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Final

from tenantry.backends.postgres.errors import PostgresUnavailable
from tenantry.backends.postgres.pools import Pool
from tenantry.core.coalesce import Coalescing
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
_MANY: Final = (
    STATUS_QUERY.replace("SELECT ", "SELECT id, ", 1)
    .replace("WHERE id = {param}", "WHERE id = ANY({param})")
    .format(placement="placement::text", language="settings -> 'language'", param="%s")
)
_ROSTER: Final = ROSTER_QUERY.format(param="%s")


class PostgresTenantLookup:
    def __init__(self, dsn: str, *, connections: int = 10, wait: float = 15.0) -> None:
        # A burst of requests queues for the connections (``wait``); connecting is quick to fail.
        self._pool = Pool(dsn, size=connections, wait=wait)
        self._reads: Coalescing[str, TenantStatus] = Coalescing(self._statuses)

    async def status(self, tenant_id: str) -> TenantStatus | None:
        return await self._reads.get(tenant_id)

    async def _statuses(self, tenant_ids: Collection[str]) -> dict[str, TenantStatus]:
        try:
            async with self._pool.connection() as connection:
                if len(tenant_ids) == 1:
                    (tenant_id,) = tenant_ids
                    cursor = await connection.execute(_QUERY, (tenant_id,), prepare=True)
                    rows = [(tenant_id, *row) for row in await cursor.fetchall()]
                else:
                    cursor = await connection.execute(_MANY, (list(tenant_ids),), prepare=True)
                    rows = list(await cursor.fetchall())
        except PostgresUnavailable as error:
            raise ControlDatabaseUnavailable(error.message) from error
        return {str(row[0]): _status(row[1:]) for row in rows}

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


def _status(row: Sequence[object]) -> TenantStatus:
    state, placements, generation, language = row
    return TenantStatus(
        str(state),
        None if placements is None else str(placements),
        generation if isinstance(generation, int) else 0,
        language_of(language),
    )

"""State values in archives: the JSON value and the seconds it had left (a TTL pauses while
the tenant is archived)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tenantry.runtime.scope import TenantScope
from tenantry.runtime.state import StateNotFound
from tenantry.tenancy.lifecycle.archives import Exportable, Record


async def export(scope: TenantScope) -> AsyncIterator[Record]:
    for team, session in await scope.state.entries():
        value = await scope.state.get(team, session)
        try:
            ttl = await scope.state.ttl(team, session)
        except StateNotFound:
            continue  # expired meanwhile
        if value is not None:
            yield Record({"team": team, "session": session, "value": value, "ttl": ttl})


async def restore(scope: TenantScope, records: AsyncIterator[Record]) -> int:
    restored = 0
    async for record in records:
        meta = record.meta
        await scope.state.set(meta["team"], meta["session"], meta["value"], ttl=meta["ttl"])
        restored += 1
    return restored


async def count(scope: TenantScope) -> int:
    return len(await scope.state.entries())


async def remove(scope: TenantScope) -> None:
    await scope.state.clear()


STATE = Exportable("state", export, restore, count, remove)

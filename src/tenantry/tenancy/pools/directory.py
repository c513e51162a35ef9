"""Which tenant environments a worker pool serves: read from the registry, decided purely.

A tenant environment belongs to the pool its stored placement names (``runtime_pool``:
``shared`` for ``mt-standard``, ``tenant:{id}`` for single-tenant profiles), so after a profile
move its messages go to its new pool as soon as the move records the new placement. Only
tenants that may serve now (``lifecycle.states.refusal``) are served: a suspended tenant's
messages stay in the bus, held, until it is resumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select

from tenantry.core import ids, names
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.deployment import MULTI_TENANT, Deployment
from tenantry.tenancy.isolation.strategies import SHARED_POOL
from tenantry.tenancy.lifecycle import states as lifecycle
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.registry.models import TenantRow

SHARED: Final = SHARED_POOL
EVERY: Final = "*"  # every pool (``tenantry up`` runs them all in one process)


@dataclass(frozen=True, slots=True, order=True)
class Served:
    """One tenant environment and the pool that serves it."""

    pool: str
    tenant_id: str
    env_id: str


def check_pool(pool: str) -> str:
    """``shared`` or ``tenant:{id}``; anything else is refused (``pool.invalid``, or
    ``id.invalid`` for a malformed tenant id)."""
    if pool == SHARED:
        return pool
    head, _, tenant = pool.partition(":")
    if head != "tenant" or not tenant:
        raise InvalidInput(
            f"pool {ids.show(pool)} is neither 'shared' nor 'tenant:ID'", code="pool.invalid"
        )
    return names.runtime_pool(tenant)


def served(rows: Iterable[tuple[str, str, Mapping[str, Any] | None]]) -> list[Served]:
    """The tenant environments of ``(tenant id, lifecycle state, placements)`` rows that may
    be served now, each with its pool, sorted."""
    found = []
    for tenant_id, state, placements in rows:
        if lifecycle.refusal(tenant_id, state) is not None:
            continue
        for env_id, placement in (placements or {}).items():
            pool = placement.get("runtime_pool") if isinstance(placement, Mapping) else None
            if isinstance(pool, str):
                found.append(Served(pool, tenant_id, env_id))
    return sorted(found)


def of_pool(entries: Iterable[Served], pool: str) -> list[Served]:
    return [entry for entry in entries if pool in (EVERY, entry.pool)]


class Directory:
    def __init__(self, sessions: SessionFactory, *, deployment: Deployment = MULTI_TENANT) -> None:
        self._sessions, self._deployment = sessions, deployment

    async def served(self) -> list[Served]:
        query = select(TenantRow.id, TenantRow.lifecycle_state, TenantRow.placement)
        async with translated(), self._sessions() as session:
            rows = (await session.execute(query)).all()
        mine = (row for row in rows if self._deployment.serves(row[0]))  # single-tenant: one
        return served((row[0], row[1], row[2]) for row in mine)

"""The controller's reads and writes of tenant status in the control database."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tenantry.tenancy.controller.resources import Reason, Resource
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.lifecycle.states import RECONCILED
from tenantry.tenancy.registry.models import TenantRow
from tenantry.tenancy.registry.schemas import ORPHANED, Condition


@dataclass(frozen=True, slots=True)
class Desired:
    tenant_id: str
    profile: str
    environments: list[str]
    generation: int
    owned: list[Resource]  # every resource ever made for the tenant, orphaned ones included
    orphaned: dict[Resource, Reason]
    placements: dict[str, Placement]  # what each environment serves on, as last settled
    conditions: list[Condition]
    lifecycle_state: str


async def load(session: AsyncSession, tenant_id: str) -> Desired | None:
    row = await session.get(TenantRow, tenant_id)
    if row is None:
        return None
    return Desired(
        tenant_id=row.id,
        profile=row.profile,
        environments=[env["id"] for env in row.spec["environments"]],
        generation=row.generation,
        owned=[Resource.from_dict(r) for r in row.resources],
        orphaned={
            Resource.from_dict(r): Reason(r[ORPHANED]) for r in row.resources if r.get(ORPHANED)
        },
        placements={env: Placement.from_dict(p) for env, p in (row.placement or {}).items()},
        conditions=[Condition.model_validate(c) for c in row.conditions],
        lifecycle_state=row.lifecycle_state,
    )


async def write_status(
    session: AsyncSession,
    tenant_id: str,
    *,
    conditions: list[Condition],
    now: datetime,
    observed_generation: int | None = None,
    placement: dict[str, Any] | None = None,
    lifecycle_state: str | None = None,
    owned: list[Resource] | None = None,
    orphaned: Mapping[Resource, Reason] | None = None,
) -> None:
    """Conditions, and what changed of generation, placement, state and owned resources: one
    UPDATE, no read."""
    changes: dict[str, Any] = {
        "conditions": [c.model_dump(mode="json") for c in conditions],
        "updated_at": now,
        "observed_generation": observed_generation,
        "placement": placement,
        "lifecycle_state": lifecycle_state,
        "resources": None if owned is None else _records(owned, orphaned or {}),
    }
    values = {k: v for k, v in changes.items() if v is not None}
    await session.execute(update(TenantRow).where(TenantRow.id == tenant_id).values(**values))


def _records(owned: Iterable[Resource], orphaned: Mapping[Resource, Reason]) -> list[Any]:
    return [
        r.as_dict() | ({ORPHANED: orphaned[r].value} if r in orphaned else {})
        for r in sorted(owned)
    ]


async def due(session: AsyncSession) -> list[str]:
    """Tenants whose current generation the controller has not yet observed."""
    query = select(TenantRow.id).where(TenantRow.observed_generation < TenantRow.generation)
    query = query.where(TenantRow.lifecycle_state.in_(RECONCILED))
    return list((await session.scalars(query.order_by(TenantRow.id))).all())


async def all_ids(session: AsyncSession) -> list[str]:
    """Every tenant the controller may reconcile now (the others are their jobs')."""
    query = select(TenantRow.id).where(TenantRow.lifecycle_state.in_(RECONCILED))
    return list((await session.scalars(query.order_by(TenantRow.id))).all())


@asynccontextmanager
async def lease(engine: AsyncEngine, tenant_id: str) -> AsyncIterator[bool]:
    """Hold the tenant's reconcile lease for the block; yields False if another process has it.

    On PostgreSQL this is a session-level advisory lock on a connection kept for the block, so
    it disappears with a crashed process. SQLite serves one process, guarded in memory.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = _lease_key(tenant_id)
    async with engine.connect() as pooled:
        connection = await pooled.execution_options(isolation_level="AUTOCOMMIT")
        held = await connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
        try:
            yield bool(held)
        finally:
            if held:
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


def _lease_key(tenant_id: str) -> int:
    digest = hashlib.blake2b(f"tenantry.reconcile:{tenant_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)

"""What a purge needs besides the maintenance scope, and its control-database side.

The toolkit's controller answers what a tenant holds and forgets what was purged (it owns those
records); its ``keys`` destroy a tenant's keys. The records a
purged tenant (or environment) leaves in the control database are removed here; the tenant's
row stays, ``deleted``, as its tombstone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.access.models import ApiKeyRow
from tenantry.tenancy.idempotency.models import IdempotencyRow
from tenantry.tenancy.limits.models import UsageCounterRow
from tenantry.tenancy.registry.models import (
    ChannelRow,
    EnvironmentRow,
    FlowRow,
    SchemaRevisionRow,
    SecretVersionRow,
    TeamRow,
    TenantRow,
)

# Rows of the tenant's data or of its projections, removed with it (tenant-wide purge).
_TENANT_ROWS = (
    SecretVersionRow,
    IdempotencyRow,
    SchemaRevisionRow,
    UsageCounterRow,
    ChannelRow,
    TeamRow,
    EnvironmentRow,
    FlowRow,
)
_ENVIRONMENT_ROWS = (IdempotencyRow, SchemaRevisionRow)  # rows keyed by tenant environment


async def remove_records(
    session: AsyncSession, tenant_id: str, env_id: str | None, *, now: datetime
) -> None:
    """Remove what the control database keeps of the tenant (or of one environment): sealed
    secrets and idempotent responses, schema revisions, usage counters, projections; the
    tenant's API keys are revoked (their rows stay for audit, like any revoked key's)."""
    if env_id is not None:
        for table in _ENVIRONMENT_ROWS:
            await session.execute(
                delete(table).where(table.tenant_id == tenant_id, table.env_id == env_id)
            )
        return
    for rows in _TENANT_ROWS:
        await session.execute(delete(rows).where(rows.tenant_id == tenant_id))
    await session.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.tenant_id == tenant_id, ApiKeyRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def tombstone(session: AsyncSession, tenant_id: str, *, now: datetime) -> None:
    """The tenant's row as its tombstone: no placement (the job makes it ``deleted``)."""
    await session.execute(
        update(TenantRow).where(TenantRow.id == tenant_id).values(placement=None, updated_at=now)
    )

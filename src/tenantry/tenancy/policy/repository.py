"""Queries of the policy registry: stored policies, and the facts the checks need."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.models import JobRow
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.policy.models import PolicyRow
from tenantry.tenancy.policy.schemas import PolicySpec


async def rows(session: AsyncSession) -> list[PolicyRow]:
    return list((await session.scalars(select(PolicyRow).order_by(PolicyRow.name))).all())


async def get(session: AsyncSession, name: str) -> PolicySpec | None:
    row = await session.get(PolicyRow, name)
    return None if row is None else PolicySpec.model_validate(row.spec)


async def stored(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """Every stored policy's definition, by name (as JSON, for planning)."""
    return {row.name: row.spec for row in await rows(session)}


async def put(
    session: AsyncSession, name: str, spec: dict[str, Any], *, source: str, now: datetime
) -> None:
    row = await session.get(PolicyRow, name)
    if row is None:
        session.add(PolicyRow(name=name, spec=spec, source=source, updated_at=now))
    else:
        row.spec, row.source, row.updated_at = spec, source, now


async def archived_at(session: AsyncSession, tenant_id: str) -> datetime | None:
    """When the tenant's last archive job finished (None: never archived)."""
    query = (
        select(JobRow.finished_at)
        .where(
            JobRow.tenant_id == tenant_id,
            JobRow.kind == JobKind.ARCHIVE.value,
            JobRow.state == JobState.SUCCEEDED.value,
        )
        .order_by(JobRow.finished_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()

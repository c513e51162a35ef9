"""Reads and writes of the ``jobs`` table; every write a running worker makes is conditioned on
its claim, so a worker whose claim expired and was taken over cannot write over the new one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.lifecycle.jobs import Job, JobState, StepRecord
from tenantry.tenancy.lifecycle.models import ACTIVE_STATES, JobRow
from tenantry.tenancy.registry.models import TenantRow

_RUNNABLE = (JobState.QUEUED.value, JobState.SCHEDULED.value, JobState.RUNNING.value)


def view(row: JobRow) -> Job:
    return Job.model_validate(row, from_attributes=True)


def steps_json(steps: Sequence[StepRecord]) -> list[Any]:
    return [s.model_dump(mode="json") for s in steps]


async def get(session: AsyncSession, job_id: str, *, lock: bool = False) -> JobRow | None:
    query = select(JobRow).where(JobRow.id == job_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def active_for(
    session: AsyncSession, tenant_id: str, env_id: str | None = None, *, lock: bool = False
) -> JobRow | None:
    """The tenant's active tenant-wide job, or (``env_id``) the one scoped to that environment."""
    query = select(JobRow).where(JobRow.tenant_id == tenant_id, JobRow.state.in_(ACTIVE_STATES))
    scoped = JobRow.env_id.is_(None) if env_id is None else JobRow.env_id == env_id
    query = query.where(scoped)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def tenant(session: AsyncSession, tenant_id: str) -> TenantRow | None:
    """The tenant's row, locked for the transaction (a write lock on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        query = select(TenantRow).where(TenantRow.id == tenant_id).with_for_update()
        return (await session.scalars(query)).one_or_none()
    await session.execute(update(TenantRow).where(TenantRow.id == tenant_id).values(id=tenant_id))
    return await session.get(TenantRow, tenant_id)


async def listed(
    session: AsyncSession, *, tenant_id: str | None, state: JobState | None, limit: int
) -> list[JobRow]:
    query = select(JobRow).order_by(JobRow.created_at.desc(), JobRow.id).limit(limit)
    if tenant_id is not None:
        query = query.where(JobRow.tenant_id == tenant_id)
    if state is not None:
        query = query.where(JobRow.state == state.value)
    return list((await session.scalars(query)).all())


async def claimable(session: AsyncSession, now: datetime, *, limit: int) -> list[str]:
    """Jobs due now that no live claim holds, oldest first."""
    query = (
        select(JobRow.id)
        .where(JobRow.state.in_(_RUNNABLE))
        .where(or_(JobRow.not_before.is_(None), JobRow.not_before <= now))
        .where(or_(JobRow.claimed_by.is_(None), JobRow.claim_expires_at < now))
        .order_by(JobRow.created_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list((await session.scalars(query)).all())


async def claim(
    session: AsyncSession, job_id: str, worker: str, *, now: datetime, until: datetime
) -> bool:
    """Compare-and-set the claim: true for exactly one of the workers racing for the job."""
    result = await session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.state.in_(_RUNNABLE))
        .where(or_(JobRow.not_before.is_(None), JobRow.not_before <= now))
        .where(or_(JobRow.claimed_by.is_(None), JobRow.claim_expires_at < now))
        .values(claimed_by=worker, claim_expires_at=until, state=JobState.RUNNING.value)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def held(session: AsyncSession, job_id: str, worker: str, **values: Any) -> bool:
    """Write ``values`` if ``worker`` still holds the job's claim; false when it lost it."""
    result = await session.execute(
        update(JobRow).where(JobRow.id == job_id, JobRow.claimed_by == worker).values(**values)
    )
    return bool(getattr(result, "rowcount", 0) == 1)

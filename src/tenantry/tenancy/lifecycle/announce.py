"""The one announce point: every lifecycle change passes here, inside the transaction that
records it, and leaves its events in the outbox (``tenancy.events``), so a change rolled back
announces nothing."""

from __future__ import annotations

import enum
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core.clock import utc_now
from tenantry.core.logging import get_logger
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.lifecycle.models import JobRow
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.registry.models import TenantRow

log = get_logger(__name__)


class Change(enum.StrEnum):
    REQUESTED = "requested"
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


_SUCCEEDED: Final = {
    JobKind.SUSPEND: EventType.TENANT_SUSPENDED,
    JobKind.RESUME: EventType.TENANT_RESUMED,
    JobKind.ARCHIVE: EventType.TENANT_ARCHIVED,
    JobKind.RESTORE: EventType.TENANT_RESTORED,
    JobKind.DELETE: EventType.TENANT_DELETED,
    JobKind.MIGRATE: EventType.MIGRATION_COMPLETED,
}


def event_types(kind: JobKind, change: Change, *, scoped: bool = False) -> tuple[EventType, ...]:
    """The events a job's ``change`` announces. A job scoped to one environment (a purge)
    changes no tenant state: it announces only its failure."""
    if change is Change.FAILED:
        migration = (EventType.MIGRATION_FAILED,) if kind is JobKind.MIGRATE else ()
        return (*migration, EventType.JOB_FAILED)
    if scoped:
        return ()
    if change is Change.STARTED and kind is JobKind.MIGRATE:
        return (EventType.MIGRATION_STARTED,)
    found = _SUCCEEDED.get(kind) if change is Change.SUCCEEDED else None
    return () if found is None else (found,)


async def announce(session: AsyncSession, job: JobRow, change: Change) -> None:
    """Announce ``change`` of ``job`` (and of its tenant's state) in ``session``'s transaction."""
    log.info(
        "lifecycle.job_" + change.value,
        job_id=job.id,
        tenant_id=job.tenant_id,
        kind=job.kind,
        state=job.state,
        correlation_id=job.correlation_id,
    )
    types = event_types(JobKind(job.kind), change, scoped=job.env_id is not None)
    if not types:
        return
    data = await _job_data(session, job, change)
    now = job.updated_at if change is not Change.STARTED else utc_now()
    for event_type in types:
        event = Event(
            event_type, job.tenant_id, data, correlation_id=job.correlation_id, causation_id=job.id
        )
        await emit(session, event, now=now)


async def _job_data(session: AsyncSession, job: JobRow, change: Change) -> dict[str, Any]:
    tenant = await session.get(TenantRow, job.tenant_id)  # loaded already: no query
    return {
        "job_id": job.id,
        "kind": job.kind,
        "change": change.value,
        "job_state": job.state,
        "tenant_state": None if tenant is None else tenant.lifecycle_state,
        "env_id": job.env_id,
        "requested_by": job.requested_by,
        "error": job.error,
    }

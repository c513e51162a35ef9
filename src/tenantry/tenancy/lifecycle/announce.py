"""The one announce point: every lifecycle change passes here, inside the transaction that
records it. It logs today; the governance issue writes its event outbox here."""

from __future__ import annotations

import enum

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core.logging import get_logger
from tenantry.tenancy.lifecycle.models import JobRow

log = get_logger(__name__)


class Change(enum.StrEnum):
    REQUESTED = "requested"
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


async def announce(session: AsyncSession, job: JobRow, change: Change) -> None:
    """Announce ``change`` of ``job`` (and of its tenant's state) in ``session``'s transaction."""
    del session  # the governance issue's outbox row is written in this transaction
    log.info(
        "lifecycle.job_" + change.value,
        job_id=job.id,
        tenant_id=job.tenant_id,
        kind=job.kind,
        state=job.state,
        correlation_id=job.correlation_id,
    )

"""Writing an event to the outbox, inside the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.events.schemas import Event


async def emit(session: AsyncSession, event: Event, *, now: datetime) -> str:
    """Write ``event`` to the outbox in ``session``'s transaction; returns its id."""
    event_id = uuid.uuid4().hex
    body = {
        "id": event_id,
        "type": event.type.value,
        "subject": event.tenant_id,
        "time": now.isoformat(),
        "data": dict(event.data),
        "correlationid": event.correlation_id,
        "causationid": event.causation_id,
    }
    values = {
        "event_id": event_id,
        "tenant_id": event.tenant_id,
        "type": event.type.value,
        "event": body,
        "created_at": now,
    }
    await session.execute(insert(OutboxRow), [values])
    return event_id

"""The fan-out: each new outbox event becomes one delivery per matching enabled endpoint (the
event's tenant's endpoints, and every platform endpoint), in one transaction with the marks of
the rows it handled.

The outbox is read with a cursor of its own (``webhook_cursor``) plus marks of the rows above
it (``webhook_fanned``), not ``id > cursor`` alone: on PostgreSQL a row with a smaller id may
commit after a larger one, and a bare cursor would skip it. The cursor passes a row once every
row up to it was handled, and marks older than :data:`SETTLE` (longer than any transaction
writing the outbox) are folded into it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core.clock import Clock, utc_now
from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.webhooks.filters import matches
from tenantry.tenancy.webhooks.models import CursorRow, EndpointRow, FannedRow
from tenantry.tenancy.webhooks.repository import insert_deliveries
from tenantry.tenancy.webhooks.schemas import Status

CURSOR: Final = "deliveries"
BATCH: Final = 500
SETTLE: Final = timedelta(minutes=10)


def sequence_of(row: OutboxRow) -> int:
    """The event's per-tenant sequence (the outbox's ``tenant_seq``, the event's
    ``tenantseq``), which every delivery carries (``webhook-sequence``)."""
    return row.tenant_seq


class FanOut:
    def __init__(self, sessions: SessionFactory, *, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    async def run(self, *, batch: int = BATCH) -> int:
        """Fan out the next unhandled outbox rows; how many deliveries were created."""
        now = self._clock()
        async with translated(), self._sessions() as session, session.begin():
            cursor = await _settle(session, await _cursor(session), now)  # locked: one at a time
            rows = await _unhandled(session, cursor, batch)
            if not rows:
                return 0
            endpoints = await _enabled(session, {row.tenant_id for row in rows})
            deliveries = [d for row in rows for d in _deliveries_of(row, endpoints, now)]
            await insert_deliveries(session, deliveries)
            marks = [{"outbox_id": row.id, "fanned_at": now} for row in rows]
            await session.execute(insert(FannedRow), marks)
        return len(deliveries)


async def _cursor(session: AsyncSession) -> int:
    query = select(CursorRow.outbox_id).where(CursorRow.name == CURSOR).with_for_update()
    found = await session.scalar(query)
    if found is None:
        await session.execute(insert(CursorRow).values(name=CURSOR, outbox_id=0))
        return 0
    return int(found)


async def _unhandled(session: AsyncSession, cursor: int, batch: int) -> Sequence[OutboxRow]:
    handled = select(FannedRow.outbox_id).where(FannedRow.outbox_id == OutboxRow.id)
    query = (
        select(OutboxRow)
        .where(OutboxRow.id > cursor, ~handled.exists())
        .order_by(OutboxRow.id)
        .limit(batch)
    )
    return (await session.execute(query)).scalars().all()


async def _settle(session: AsyncSession, cursor: int, now: datetime) -> int:
    """Fold the marks older than :data:`SETTLE` into the cursor; the cursor after."""
    old = select(func.max(FannedRow.outbox_id)).where(FannedRow.fanned_at < now - SETTLE)
    upto = await session.scalar(old)
    if upto is None or upto <= cursor:
        return cursor
    await session.execute(delete(FannedRow).where(FannedRow.outbox_id <= upto))
    await session.execute(update(CursorRow).where(CursorRow.name == CURSOR).values(outbox_id=upto))
    return int(upto)


async def _enabled(session: AsyncSession, tenants: set[str]) -> list[EndpointRow]:
    query = select(EndpointRow).where(
        EndpointRow.disabled_at.is_(None),
        EndpointRow.tenant_id.is_(None) | EndpointRow.tenant_id.in_(tenants),
    )
    return list((await session.execute(query)).scalars())


def _deliveries_of(
    row: OutboxRow, endpoints: Sequence[EndpointRow], now: datetime
) -> list[dict[str, Any]]:
    """A tenant's endpoints get only its events; platform endpoints get every tenant's. An
    endpoint gets the events that happened since it was added, none from before."""
    return [
        {
            "id": uuid.uuid4().hex,
            "endpoint_id": endpoint.id,
            "outbox_id": row.id,
            "event_id": row.event_id,
            "event_type": row.type,
            "tenant_id": row.tenant_id,
            "tenant_seq": sequence_of(row),
            "status": Status.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for endpoint in endpoints
        if endpoint.tenant_id in (None, row.tenant_id)
        and matches(endpoint.filters, row.type)
        and row.created_at >= endpoint.created_at
    ]

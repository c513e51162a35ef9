"""Publishing the outbox on the bus: at least once, in order per tenant.

One dispatcher publishes at a time: on PostgreSQL a batch runs under a transaction-scoped
advisory lock (another worker's dispatcher skips its turn instead of racing it), on SQLite
under the database's single writer. A batch publishes unpublished rows in ``id`` order (a
tenant's rows are numbered in commit order, see ``outbox``), stops at the first failure so
nothing of that tenant overtakes it, and marks what it published. A dispatcher that dies
between publishing and marking publishes the rows again; the bus drops them as duplicates of
the same event id (``Nats-Msg-Id``) within its deduplication window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core import names
from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import TenantryError
from tenantry.core.logging import get_logger
from tenantry.tenancy.events.models import EventMarkRow, OutboxRow
from tenantry.tenancy.events.once import EXPIRES
from tenantry.tenancy.events.signing import KEY_ID, EventKeys, sign
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated

log = get_logger(__name__)
LOCK_KEY: Final = 0x7E1A_0E5E  # the advisory lock of the one publishing dispatcher


class EventBus(Protocol):
    async def publish_event(self, subject: str, data: bytes, *, message_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    prefix: str = names.DEFAULT_EVENT_PREFIX
    batch: int = 100
    retention: timedelta = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class _Sent:
    id: int
    event: dict[str, Any]  # as published (signed)
    signed_here: bool  # stored unsigned: the signed form replaces it


class Dispatcher:
    def __init__(
        self,
        sessions: SessionFactory,
        bus: EventBus,
        keys: EventKeys,
        *,
        settings: DispatchSettings | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions, self._bus, self._keys, self._clock = sessions, bus, keys, clock
        self.settings = settings or DispatchSettings()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events; how many were published and marked."""
        async with translated(), self._sessions() as session, session.begin():
            if not await _lock(session):
                return 0
            rows = await _unpublished(session, self.settings.batch)
            published, failure = await self._publish(rows)
            await self._mark(session, published)
        if failure is not None:
            raise failure
        return len(published)

    async def _publish(self, rows: list[OutboxRow]) -> tuple[list[_Sent], TenantryError | None]:
        published: list[_Sent] = []
        for row in rows:
            event, signed_here = row.event, KEY_ID not in row.event
            if signed_here:  # emitted through an engine without the key: signed now
                event = sign(event, self._keys.active())
            subject = names.event_subject(row.tenant_id, row.type, prefix=self.settings.prefix)
            try:
                await self._bus.publish_event(subject, _wire(event), message_id=row.event_id)
            except TenantryError as error:  # the rest waits: nothing overtakes it
                log.warning("events.publish_failed", event_id=row.event_id, code=error.code)
                return published, error
            published.append(_Sent(row.id, event, signed_here))
        return published, None

    async def _mark(self, session: AsyncSession, sent: list[_Sent]) -> None:
        """One update marks the batch; a row signed here also gets its signed form stored."""
        now = self._clock()
        ids = [one.id for one in sent]
        if ids:
            marked = update(OutboxRow).where(OutboxRow.id.in_(ids)).values(published_at=now)
            await session.execute(marked)
        for one in sent:
            if one.signed_here:
                stored = update(OutboxRow).where(OutboxRow.id == one.id).values(event=one.event)
                await session.execute(stored)

    async def prune(self) -> int:
        """Delete published events older than the retention, and once-marks past their window."""
        now = self._clock()
        async with translated(), self._sessions() as session, session.begin():
            before = now - self.settings.retention
            old: Any = await session.execute(
                delete(OutboxRow).where(
                    OutboxRow.published_at.is_not(None), OutboxRow.published_at < before
                )
            )
            await session.execute(
                delete(EventMarkRow).where(EventMarkRow.created_at < now - EXPIRES)
            )
        return int(old.rowcount)


async def _lock(session: AsyncSession) -> bool:
    if session.sync_session.get_bind().dialect.name != "postgresql":
        return True
    found = await session.execute(select(func.pg_try_advisory_xact_lock(LOCK_KEY)))
    return bool(found.scalar_one())


async def _unpublished(session: AsyncSession, batch: int) -> list[OutboxRow]:
    query = (
        select(OutboxRow)
        .where(OutboxRow.published_at.is_(None))
        .order_by(OutboxRow.id)
        .limit(batch)
    )
    return list((await session.scalars(query)).all())


def _wire(event: dict[str, Any]) -> bytes:
    """The event as published: its structured CloudEvents JSON."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

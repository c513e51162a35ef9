"""A migrating tenant's write freeze: writes wait (then 503 with ``Retry-After``), reads go on.

Only tenants in ``migrating`` pay for it; for every other tenant a write costs nothing more.

- **A write** of a migrating tenant first takes a *hold* (:meth:`WriteGate.enter`): in one
  control-database transaction it inserts a ``write_holds`` row, then reads the tenant's
  ``writes_frozen_until`` with a share lock (``FOR SHARE`` on PostgreSQL; SQLite serialises
  writers). Frozen: the row is rolled back and the write waits, polling, up to
  ``wait`` seconds, then is refused with :class:`WritesFrozen` (503, ``Retry-After``). Not
  frozen: the hold is committed, and the write opens its scope *after* it, so it sees the
  placement that stays current until it gives the hold back.
- **The cutover** (:class:`Freezer`) sets ``writes_frozen_until`` (a bound, so a job that dies
  never freezes a tenant for good), then waits until no live hold is left: every write that
  got past the gate before the freeze has finished. It copies what changed, then flips the
  placement and thaws in one transaction.

The share lock makes the two orders the only ones: a write that read "not frozen" holds its
lock until its hold is committed, so the freezing ``UPDATE`` waits for it and the count that
follows sees the hold; a write that reads after the freeze sees it. A hold whose process died
expires after ``hold_seconds``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import Unavailable
from tenantry.tenancy.lifecycle.models import WriteHoldRow
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.registry.models import TenantRow

POLL: Final = 0.05  # seconds between two looks at a freeze (a writer's, the cutover's)


class WritesFrozen(Unavailable):
    """The tenant is moving between placements: writes pause for the cutover."""

    code = "tenant.writes_frozen"

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class DrainTimeout(Unavailable):
    code = "migration.drain_timeout"


Release = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FreezeSettings:
    wait: float = 2.0  # how long a write waits for a freeze to end before its 503
    hold_seconds: float = 120.0  # a hold not given back by then (its process died) is ignored
    # the most a freeze lasts if its job never thaws it; a cutover that outlasts it does not
    # flip (writes may have resumed) and is tried again
    freeze_seconds: float = 60.0
    drain_seconds: float = 10.0  # how long the cutover waits for writes in flight


class WriteGate:
    """The writes' side: :meth:`enter` before a migrating tenant's write opens its scope."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        settings: FreezeSettings | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions, self._settings, self._clock = sessions, settings or FreezeSettings(), clock

    async def enter(self, tenant_id: str) -> Release:
        """Take a hold for one write of ``tenant_id``; its release gives it back."""
        deadline = time.monotonic() + self._settings.wait
        while True:
            hold, until = await self._try(tenant_id)
            if hold is not None:
                return _releaser(self._sessions, hold)
            left = deadline - time.monotonic()
            if left <= 0:
                now = self._clock()
                after = max((until - now).total_seconds(), 1.0) if until is not None else 1.0
                raise WritesFrozen(
                    f"tenant {tenant_id!r} is moving to its new placement: writes resume in a"
                    " moment",
                    retry_after=min(after, 5.0),
                    details={"tenant_id": tenant_id},
                )
            await asyncio.sleep(min(POLL, left))

    async def _try(self, tenant_id: str) -> tuple[str | None, datetime | None]:
        now, hold = self._clock(), uuid.uuid4().hex
        expires = now + timedelta(seconds=self._settings.hold_seconds)
        try:
            async with translated(), self._sessions() as session, session.begin():
                await session.execute(
                    insert(WriteHoldRow).values(id=hold, tenant_id=tenant_id, expires_at=expires)
                )
                until = await _frozen_until(session, tenant_id, share=True)
                if until is not None and until > now:
                    raise _Frozen(until)  # rolls the hold back
        except _Frozen as frozen:
            return None, frozen.until
        return hold, None


class _Frozen(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__()
        self.until = until


def _releaser(sessions: SessionFactory, hold: str) -> Release:
    async def release() -> None:
        async with translated(), sessions() as session, session.begin():
            await session.execute(delete(WriteHoldRow).where(WriteHoldRow.id == hold))

    return release


async def _frozen_until(
    session: AsyncSession, tenant_id: str, *, share: bool = False
) -> datetime | None:
    query = select(TenantRow.writes_frozen_until).where(TenantRow.id == tenant_id)
    if share and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    found: datetime | None = (await session.execute(query)).scalar_one_or_none()
    return found


class Freezer:
    """The cutover's side: freeze a tenant's writes, wait for those in flight, thaw."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        settings: FreezeSettings | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions, self._settings, self._clock = sessions, settings or FreezeSettings(), clock

    async def freeze(self, tenant_id: str) -> None:
        """Stop new writes, then wait until every write past the gate has given its hold back."""
        until = self._clock() + timedelta(seconds=self._settings.freeze_seconds)
        async with translated(), self._sessions() as session, session.begin():
            await session.execute(
                update(TenantRow).where(TenantRow.id == tenant_id).values(writes_frozen_until=until)
            )
        deadline = time.monotonic() + self._settings.drain_seconds
        while await self.in_flight(tenant_id):
            if time.monotonic() > deadline:
                await self.thaw(tenant_id)
                raise DrainTimeout(
                    f"writes of tenant {tenant_id!r} were still in flight after"
                    f" {self._settings.drain_seconds:g} s; the cutover is tried again"
                )
            await asyncio.sleep(POLL / 5)

    async def in_flight(self, tenant_id: str) -> int:
        now = self._clock()
        query = select(func.count()).where(
            WriteHoldRow.tenant_id == tenant_id, WriteHoldRow.expires_at > now
        )
        async with translated(), self._sessions() as session:
            return int((await session.execute(query)).scalar_one())

    async def thaw(self, tenant_id: str, session: AsyncSession | None = None) -> None:
        """End the freeze (in ``session``'s transaction when given: the flip's)."""
        query = update(TenantRow).where(TenantRow.id == tenant_id).values(writes_frozen_until=None)
        if session is not None:
            await session.execute(query)
            return
        async with translated(), self._sessions() as own, own.begin():
            await own.execute(query)

    async def frozen(self, tenant_id: str) -> bool:
        async with translated(), self._sessions() as session:
            until = await _frozen_until(session, tenant_id)
        return until is not None and until > self._clock()

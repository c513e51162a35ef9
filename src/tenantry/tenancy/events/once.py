"""Events emitted once per key: a flood of the same refusal announces it once per window."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.events.models import EventMarkRow
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.events.schemas import Event, EventType

_REMEMBERED: Final = 10_000  # keys this process knows were marked: no query for them


class Once:
    """Emits an event only if its key was never marked (in the database, so across
    processes); keys this process marked are remembered to spare the query."""

    def __init__(self) -> None:
        self._marked: OrderedDict[str, None] = OrderedDict()

    async def emit(self, session: AsyncSession, event: Event, *, key: str, now: datetime) -> bool:
        """Emit ``event`` in ``session``'s transaction unless ``key`` was; True if emitted."""
        if key in self._marked:
            return False
        if not await _mark(session, key, now):
            self._remember(key)
            return False
        await emit(session, event, now=now)
        # Remembered before the commit: should it fail, this process skips the key for the
        # rest of its window (another process, or the next window, announces it).
        self._remember(key)
        return True

    def _remember(self, key: str) -> None:
        self._marked[key] = None
        while len(self._marked) > _REMEMBERED:
            self._marked.popitem(last=False)


async def _mark(session: AsyncSession, key: str, now: datetime) -> bool:
    dialect = session.sync_session.get_bind().dialect.name
    make: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = EventMarkRow.__table__
    statement = make(table).values(key=key, created_at=now).on_conflict_do_nothing()
    inserted = await session.execute(statement.returning(table.c.key))
    return inserted.scalar_one_or_none() is not None


def window_start(now: datetime, seconds: int) -> datetime:
    """The start of the fixed window of ``seconds`` that ``now`` falls in (UTC)."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def quota_exceeded(
    tenant_id: str, resource: str, details: dict[str, Any], *, now: datetime, window: int
) -> tuple[Event, str]:
    """The ``quota.exceeded`` event of a refusal and its once-key (tenant, resource, window)."""
    start = window_start(now, window)
    data: dict[str, Any] = {
        "resource": resource,
        "window_start": start.isoformat().replace("+00:00", "Z"),
        "window_seconds": window,
        **{k: details[k] for k in _QUOTA_FIELDS if k in details},
    }
    key = f"{EventType.QUOTA_EXCEEDED.value}:{tenant_id}:{resource}:{int(start.timestamp())}"
    return Event(EventType.QUOTA_EXCEEDED, tenant_id, data), key


_QUOTA_FIELDS: Final = (
    *("exhausted", "used_bytes", "max_bytes", "used_items", "max_items"),  # storage quotas
    *("used", "cap", "period"),  # the AI-token cap
)
EXPIRES: Final = timedelta(days=2)  # marks older than this are pruned: past their window

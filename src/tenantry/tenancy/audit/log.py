"""The one place audit records are appended.

``append`` writes inside the caller's transaction: a write to the control database and its
record commit together. ``AuditLog.record`` appends in a transaction of its own: for writes to
Redis, objects or files (before the response is sent), and for refusals, whose own transaction
must commit even when the refused change rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.tenancy.access.models import AuditRecordRow
from tenantry.tenancy.audit.schemas import AuditEntry
from tenantry.tenancy.registry.errors import translated

CORRELATION_CHARS = 64  # the column's width; the API's correlation ids are at most that


async def append(session: AsyncSession, entries: Sequence[AuditEntry], *, now: datetime) -> None:
    """Append ``entries`` in ``session``'s transaction."""
    if entries:
        await session.execute(insert(AuditRecordRow), [_values(e, now) for e in entries])


class AuditLog:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self._sessions, self._clock = sessions, clock

    async def record(self, entries: Sequence[AuditEntry]) -> None:
        """Append ``entries`` in a transaction of their own."""
        async with translated(), self._sessions() as session, session.begin():
            await append(session, entries, now=self._clock())


def _values(entry: AuditEntry, now: datetime) -> dict[str, object]:
    correlation = entry.correlation_id
    return {
        "ts": now,
        "actor": entry.actor,
        "action": entry.action,
        "tenant_id": entry.tenant_id,
        "outcome": entry.outcome.value,
        "correlation_id": correlation[:CORRELATION_CHARS] if correlation else None,
        "details": dict(entry.details),
        "env_id": entry.env_id,
        "team_id": entry.team_id,
        "credential_id": entry.credential_id,
        "target": entry.target,
        "request_hmac": entry.request_hmac,
    }

"""Reads and writes of the fence's tables, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.lifecycle.fence.models import FenceAckRow, FenceProcessRow, FenceRow


def _insert(session: AsyncSession, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def beat(session: AsyncSession, process_id: str, now: datetime) -> None:
    """Insert or renew ``process_id``'s heartbeat."""
    query = _insert(session, FenceProcessRow).values(
        id=process_id, started_at=now, heartbeat_at=now
    )
    await session.execute(
        query.on_conflict_do_update(index_elements=["id"], set_={"heartbeat_at": now})
    )


async def forget(session: AsyncSession, *, process_id: str | None, dead_before: datetime) -> None:
    """Remove ``process_id`` (a clean exit) and every process silent since ``dead_before``."""
    gone = FenceProcessRow.heartbeat_at < dead_before
    if process_id is not None:
        gone = or_(gone, FenceProcessRow.id == process_id)
    ids = select(FenceProcessRow.id).where(gone)
    await session.execute(delete(FenceAckRow).where(FenceAckRow.process_id.in_(ids)))
    await session.execute(delete(FenceProcessRow).where(gone))


async def raised_since(session: AsyncSession, since: datetime) -> list[tuple[str, int]]:
    """The fences raised (or renewed) since ``since``: (tenant, sequence)."""
    query = select(FenceRow.tenant_id, FenceRow.seq).where(FenceRow.raised_at >= since)
    return [(tenant, seq) for tenant, seq in (await session.execute(query)).all()]


async def raise_fence(session: AsyncSession, tenant_id: str, now: datetime) -> int:
    """Bump the tenant's fence; its new sequence."""
    query = _insert(session, FenceRow).values(tenant_id=tenant_id, seq=1, raised_at=now)
    await session.execute(
        query.on_conflict_do_update(
            index_elements=["tenant_id"], set_={"seq": FenceRow.seq + 1, "raised_at": now}
        )
    )
    found = await session.scalar(select(FenceRow.seq).where(FenceRow.tenant_id == tenant_id))
    return int(found or 0)


async def renew(session: AsyncSession, tenant_id: str, seq: int, now: datetime) -> None:
    """Raise the tenant's fence again at ``seq`` (at least), so processes see it anew."""
    query = _insert(session, FenceRow).values(tenant_id=tenant_id, seq=seq, raised_at=now)
    await session.execute(
        query.on_conflict_do_update(index_elements=["tenant_id"], set_={"raised_at": now})
    )
    await session.execute(
        update(FenceRow).where(FenceRow.tenant_id == tenant_id, FenceRow.seq < seq).values(seq=seq)
    )


async def ack(
    session: AsyncSession, process_id: str, tenant_id: str, seq: int, now: datetime
) -> None:
    """Record that ``process_id`` drained the tenant's fence up to ``seq``."""
    query = _insert(session, FenceAckRow).values(
        process_id=process_id, tenant_id=tenant_id, seq=seq, acked_at=now
    )
    await session.execute(
        query.on_conflict_do_update(
            index_elements=["process_id", "tenant_id"],
            set_={"seq": seq, "acked_at": now},
            where=FenceAckRow.seq < seq,
        )
    )


async def laggards(
    session: AsyncSession, tenant_id: str, seq: int, *, fresh_since: datetime
) -> list[str]:
    """The live processes (a heartbeat since ``fresh_since``) that have not drained ``seq``."""
    acked = select(FenceAckRow.process_id).where(
        FenceAckRow.tenant_id == tenant_id, FenceAckRow.seq >= seq
    )
    query = (
        select(FenceProcessRow.id)
        .where(FenceProcessRow.heartbeat_at >= fresh_since)
        .where(FenceProcessRow.id.not_in(acked))
        .order_by(FenceProcessRow.id)
    )
    return list((await session.scalars(query)).all())

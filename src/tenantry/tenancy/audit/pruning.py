"""Pruning: whole ranges at the start of a chain, older than retention, removed behind a signed
``prune`` checkpoint holding the last removed link's hash, from which what remains verifies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.access.models import AuditRecordRow
from tenantry.tenancy.audit.models import AuditChainRow

_R, _C = AuditRecordRow, AuditChainRow


async def prunable(session: AsyncSession, chain: str, before: datetime) -> tuple[int, str] | None:
    """The last link ``(seq, hash)`` of the chain's leading range of records older than
    ``before``; None when there is none. The chain's head is always kept: the sequencer links
    the next record after it."""
    kept = select(func.min(_C.seq)).join(_R, _R.id == _C.record_id)
    first_kept = await session.scalar(kept.where(_C.chain == chain, _R.ts >= before))
    head = await session.scalar(select(func.max(_C.seq)).where(_C.chain == chain))
    if head is None:
        return None
    limit = head if first_kept is None else min(head, first_kept)
    last = select(func.max(_C.seq)).where(_C.chain == chain, _C.seq < limit)
    seq = await session.scalar(last)
    if seq is None:
        return None
    found = await session.scalar(select(_C.hash).where(_C.chain == chain, _C.seq == seq))
    return None if found is None else (int(seq), str(found))


async def remove(session: AsyncSession, chain: str, through: int) -> int:
    """Remove the chain's links up to ``through`` and their records; the number removed."""
    linked = select(_C.record_id).where(_C.chain == chain, _C.seq <= through)
    await session.execute(delete(_R).where(_R.id.in_(linked)))
    result = await session.execute(delete(_C).where(_C.chain == chain, _C.seq <= through))
    return int(getattr(result, "rowcount", 0) or 0)

"""The audit tables' queries: plain rows (tuples), in batches, for the sequencer and the
verifier (no per-row ORM objects: verification reads every record)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, exists, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.access.models import AuditRecordRow
from tenantry.tenancy.audit import canonical
from tenantry.tenancy.audit.links import Link
from tenantry.tenancy.audit.models import AuditChainRow, AuditCheckpointRow
from tenantry.tenancy.audit.range_tasks import Database
from tenantry.tenancy.audit.verify import Checkpoint

_LOCK_KEY: Final = 0x61756474  # "audt": the sequencers' advisory lock on PostgreSQL
RECORD_COLUMNS: Final = tuple(getattr(AuditRecordRow, name) for name in canonical.FIELDS)
_R, _C, _K = AuditRecordRow, AuditChainRow, AuditCheckpointRow
_UNCHAINED = ~exists().where(_C.record_id == _R.id)


async def lock_sequencing(session: AsyncSession) -> None:
    """On PostgreSQL, one sequencer at a time (released at commit); SQLite has one writer."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


_RAW_COLUMNS: Final = ", ".join(f"r.{name}" for name in canonical.FIELDS)
# Plain SQL, so rows come back as the driver gives them (no ORM loading, no type processing):
# verification reads every record, and the sequencer must hash exactly what verify will read.
_UNCHAINED_SQL: Final = text(
    f"SELECT {_RAW_COLUMNS} FROM audit_records r WHERE r.id > :after AND NOT EXISTS"  # noqa: S608 - constant columns
    " (SELECT 1 FROM audit_chain c WHERE c.record_id = r.id) ORDER BY r.id LIMIT :limit"
)
_LINKS_SQL: Final = text(
    f"SELECT c.seq, c.record_id, c.prev_hash, c.hash, {_RAW_COLUMNS} FROM audit_chain c"  # noqa: S608 - constant columns
    " LEFT JOIN audit_records r ON r.id = c.record_id"
    " WHERE c.chain = :chain AND c.seq > :after ORDER BY c.seq LIMIT :limit"
)


async def unchained(session: AsyncSession, *, after: int, limit: int) -> list[list[Any]]:
    """Committed records without a link, ``id`` above ``after``, in ``id`` order, as
    canonical values."""
    connection = await session.connection()
    rows = (await connection.execute(_UNCHAINED_SQL, {"after": after, "limit": limit})).all()
    return [canonical.record_values(row) for row in rows]


async def pending_by_tenant(session: AsyncSession) -> dict[str | None, int]:
    """Records not chained yet, per tenant (None: the platform's), in one pass."""
    query = select(_R.tenant_id, func.count()).where(_UNCHAINED).group_by(_R.tenant_id)
    return {tenant: int(count) for tenant, count in (await session.execute(query)).all()}


async def newest_chained(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(_C.record_id))) or 0)


async def heads(session: AsyncSession, chains: Sequence[str]) -> dict[str, tuple[str, int]]:
    """Each chain's last ``(hash, seq)``; chains without links are absent."""
    last = (
        select(_C.chain, func.max(_C.seq).label("seq"))
        .where(_C.chain.in_(chains))
        .group_by(_C.chain)
        .subquery()
    )
    query = select(_C.chain, _C.hash, _C.seq).join(
        last, and_(_C.chain == last.c.chain, _C.seq == last.c.seq)
    )
    return {chain: (hash_, seq) for chain, hash_, seq in (await session.execute(query)).all()}


async def add_links(session: AsyncSession, links: list[dict[str, object]]) -> None:
    await session.execute(insert(_C), links)


async def last_checkpoints(
    session: AsyncSession, chains: Sequence[str]
) -> dict[str, tuple[int, datetime]]:
    """Each chain's newest checkpoint ``(seq, ts)``."""
    query = (
        select(_K.chain, func.max(_K.seq), func.max(_K.ts))
        .where(_K.chain.in_(chains))
        .group_by(_K.chain)
    )
    rows = (await session.execute(query)).all()
    return {chain: (seq, canonical_ts(ts)) for chain, seq, ts in rows}


def canonical_ts(value: datetime | str) -> datetime:
    """``max(ts)`` comes back as text on SQLite."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def add_checkpoint(session: AsyncSession, checkpoint: Checkpoint) -> None:
    values = {
        "chain": checkpoint.chain,
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "ts": datetime.fromisoformat(checkpoint.ts),
        "kind": checkpoint.kind,
        "kid": checkpoint.kid,
        "signature": checkpoint.signature,
    }
    await session.execute(insert(_K).values(values))


async def chains(session: AsyncSession) -> list[str]:
    """Every chain with a link or a checkpoint."""
    linked = select(_C.chain).distinct()
    signed = select(_K.chain).distinct()
    return sorted({c for (c,) in (await session.execute(linked.union(signed))).all()})


async def checkpoints(session: AsyncSession, chain: str | None = None) -> list[Checkpoint]:
    query = select(_K.chain, _K.seq, _K.hash, _K.ts, _K.kind, _K.kid, _K.signature)
    if chain is not None:
        query = query.where(_K.chain == chain)
    rows = (await session.execute(query.order_by(_K.id))).all()
    return [
        Checkpoint(c, seq, h, canonical.timestamp(ts), kind, kid, sig)
        for c, seq, h, ts, kind, kid, sig in rows
    ]


async def links(session: AsyncSession, chain: str, *, after: int, limit: int) -> list[Link]:
    """A batch of the chain's links with their records (None when the record is gone)."""
    connection = await session.connection()
    values = {"chain": chain, "after": after, "limit": limit}
    rows = (await connection.execute(_LINKS_SQL, values)).all()
    return [
        (r[0], r[1], r[2], r[3], None if r[4] is None else canonical.record_values(r[4:]), None)
        for r in rows
    ]


async def bounds(session: AsyncSession, chains: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Each chain's first and last ``seq``; chains without links are absent."""
    query = (
        select(_C.chain, func.min(_C.seq), func.max(_C.seq))
        .where(_C.chain.in_(chains))
        .group_by(_C.chain)
    )
    return {chain: (first, last) for chain, first, last in (await session.execute(query)).all()}


def worker_database(session: AsyncSession) -> Database | None:
    """Where a verifying worker process reads the same database (None: it cannot, as with an
    in-memory SQLite database)."""
    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite":
        path = url.database
        return None if not path or path == ":memory:" else Database(sqlite_path=path)
    postgres = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return Database(postgres=postgres)

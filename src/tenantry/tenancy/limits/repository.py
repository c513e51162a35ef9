"""Every limits query, on SQLite and PostgreSQL: guarded counters, meters, stored limits.

No decisions here. The guarded increment is the whole of quota safety: one ``UPDATE ... SET
used = used + :n WHERE ... AND used + :n <= :limit``, which both databases apply atomically per
row (PostgreSQL re-checks the condition on the newest row version after a concurrent update;
SQLite runs one writer at a time), so no interleaving of writers can pass a limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.limits.models import UsageCounterRow as Counter
from tenantry.tenancy.limits.models import UsageMeterRow as Meter
from tenantry.tenancy.registry.errors import TenantNotFound
from tenantry.tenancy.registry.models import TenantRow


@dataclass(frozen=True, slots=True)
class Usage:
    used: int
    items: int


@dataclass(frozen=True, slots=True)
class MeterSum:
    resource: str
    hour: datetime | None  # None when summed over the whole period
    amount: int


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _counter(tenant_id: str, resource: str, period: str) -> ColumnElement[bool]:
    return (
        (Counter.tenant_id == tenant_id)
        & (Counter.resource == resource)
        & (Counter.period == period)
    )


async def ensure_counter(
    session: AsyncSession, tenant_id: str, resource: str, period: str, *, now: datetime
) -> None:
    """Create the counter at zero if it is missing (a concurrent creation is fine)."""
    statement = (
        _insert(session)(Counter)
        .values(tenant_id=tenant_id, resource=resource, period=period, used=0, items=0)
        .values(updated_at=now)
        .on_conflict_do_nothing(index_elements=["tenant_id", "resource", "period"])
    )
    try:
        await session.execute(statement)
    except IntegrityError as error:  # the tenant's foreign key: no such tenant
        raise TenantNotFound(tenant_id) from error


async def add_within(
    session: AsyncSession,
    tenant_id: str,
    resource: str,
    period: str,
    *,
    used: int,
    items: int,
    max_used: int,
    max_items: int,
    now: datetime,
) -> bool:
    """Add to the counter only if both sums stay within their limits; True if it did."""
    statement = (
        update(Counter)
        .where(
            _counter(tenant_id, resource, period),
            Counter.used + used <= max_used,
            Counter.items + items <= max_items,
        )
        .values(used=Counter.used + used, items=Counter.items + items, updated_at=now)
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def subtract(
    session: AsyncSession,
    tenant_id: str,
    resource: str,
    period: str,
    *,
    used: int,
    items: int,
    now: datetime,
) -> None:
    """Take back from the counter, never below zero (a stray release cannot go negative)."""
    statement = (
        update(Counter)
        .where(_counter(tenant_id, resource, period))
        .values(
            used=case((Counter.used > used, Counter.used - used), else_=0),
            items=case((Counter.items > items, Counter.items - items), else_=0),
            updated_at=now,
        )
    )
    await session.execute(statement)


async def read_counter(session: AsyncSession, tenant_id: str, resource: str, period: str) -> Usage:
    query = select(Counter.used, Counter.items).where(_counter(tenant_id, resource, period))
    row = (await session.execute(query)).one_or_none()
    return Usage(0, 0) if row is None else Usage(int(row.used), int(row.items))


async def read_counters(session: AsyncSession, tenant_id: str, period: str) -> dict[str, Usage]:
    query = select(Counter.resource, Counter.used, Counter.items).where(
        Counter.tenant_id == tenant_id, Counter.period == period
    )
    rows = await session.execute(query)
    return {row.resource: Usage(int(row.used), int(row.items)) for row in rows}


async def insert_meter(
    session: AsyncSession,
    tenant_id: str,
    *,
    resource: str,
    amount: int,
    ts: datetime,
    hour: datetime,
    key: str,
) -> bool:
    """Record one meter event; False if the tenant already recorded ``key`` (a duplicate)."""
    statement = (
        _insert(session)(Meter)
        .values(tenant_id=tenant_id, idempotency_key=key, resource=resource, amount=amount)
        .values(ts=ts, hour=hour)
        .on_conflict_do_nothing(index_elements=["tenant_id", "idempotency_key"])
        # RETURNING, not rowcount: psycopg reports no row count for INSERT ... ON CONFLICT.
        .returning(Meter.tenant_id)
    )
    try:
        result = await session.execute(statement)
    except IntegrityError as error:
        raise TenantNotFound(tenant_id) from error
    return result.first() is not None


async def meter_sums(
    session: AsyncSession,
    tenant_id: str,
    *,
    start: datetime,
    end: datetime,
    first_hour: datetime,
    resource: str | None,
    hourly: bool,
) -> list[MeterSum]:
    """Sums per resource (and per hour if ``hourly``) of meters with ``start <= ts < end``."""
    total = func.sum(Meter.amount).label("amount")
    columns = (Meter.resource, Meter.hour) if hourly else (Meter.resource,)
    query = (
        select(*columns, total)
        .where(Meter.tenant_id == tenant_id, Meter.hour >= first_hour, Meter.hour < end)
        .where(Meter.ts >= start, Meter.ts < end)
        .group_by(*columns)
        .order_by(*columns)
    )
    if resource is not None:
        query = query.where(Meter.resource == resource)
    rows = await session.execute(query)
    return [MeterSum(row.resource, row.hour if hourly else None, int(row.amount)) for row in rows]


async def stored_limits(
    session: AsyncSession, tenant_ids: Sequence[str]
) -> dict[str, tuple[int, Any]]:
    """``{tenant: (generation, spec["limits"] or None)}`` for the tenants that exist."""
    query = select(TenantRow.id, TenantRow.generation, TenantRow.spec["limits"]).where(
        TenantRow.id.in_(tenant_ids)
    )
    rows = await session.execute(query)
    return {row[0]: (int(row[1]), row[2]) for row in rows}


async def tenant_exists(session: AsyncSession, tenant_id: str) -> bool:
    query = select(TenantRow.id).where(TenantRow.id == tenant_id)
    return (await session.execute(query)).first() is not None

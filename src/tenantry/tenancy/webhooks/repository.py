"""Every webhook query on the control database (SQLite and PostgreSQL).

Each endpoint query filters on the owner (a tenant id, or NULL for the platform) as well as on
the id, so another owner's endpoint is never found. Functions take the caller's session: the
service owns the transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.webhooks.models import DeliveryRow, EndpointRow, SecretRow
from tenantry.tenancy.webhooks.schemas import Delivery, Endpoint, Status


def owned(tenant_id: str | None) -> ColumnElement[bool]:
    if tenant_id is None:
        return EndpointRow.tenant_id.is_(None)
    return EndpointRow.tenant_id == tenant_id


async def endpoint(session: AsyncSession, tenant_id: str | None, id_: str) -> EndpointRow | None:
    query = select(EndpointRow).where(owned(tenant_id), EndpointRow.id == id_)
    return (await session.execute(query)).scalar_one_or_none()


async def endpoints(session: AsyncSession, tenant_id: str | None) -> list[Endpoint]:
    versions = (
        select(SecretRow.endpoint_id, func.count().label("n"))
        .group_by(SecretRow.endpoint_id)
        .subquery()
    )
    query = (
        select(EndpointRow, versions.c.n)
        .outerjoin(versions, versions.c.endpoint_id == EndpointRow.id)
        .where(owned(tenant_id))
        .order_by(EndpointRow.created_at, EndpointRow.id)
    )
    return [to_endpoint(row, n or 0) for row, n in (await session.execute(query)).all()]


def to_endpoint(row: EndpointRow, versions: int) -> Endpoint:
    return Endpoint(
        row.id,
        row.tenant_id,
        row.url,
        list(row.filters),
        row.description,
        row.created_at,
        row.disabled_at,
        row.disabled_reason,
        versions,
    )


async def secrets(session: AsyncSession, endpoint_id: str) -> list[SecretRow]:
    """The endpoint's secret versions, the newest first."""
    query = (
        select(SecretRow)
        .where(SecretRow.endpoint_id == endpoint_id)
        .order_by(SecretRow.version.desc())
    )
    return list((await session.execute(query)).scalars())


async def add_secret(
    session: AsyncSession, endpoint_id: str, version: int, sealed: bytes, *, now: datetime
) -> None:
    values = {
        "endpoint_id": endpoint_id,
        "version": version,
        "sealed": sealed,
        "created_at": now,
    }
    await session.execute(insert(SecretRow).values(values))


async def expire_secrets(
    session: AsyncSession, endpoint_id: str, *, below: int, at: datetime, now: datetime
) -> None:
    """Older versions stop signing at ``at``; those already expired are dropped."""
    older = (SecretRow.endpoint_id == endpoint_id, SecretRow.version < below)
    await session.execute(delete(SecretRow).where(*older, SecretRow.expires_at <= now))
    await session.execute(
        update(SecretRow).where(*older, SecretRow.expires_at.is_(None)).values(expires_at=at)
    )


async def deliveries(
    session: AsyncSession, endpoint_id: str, *, status: Status | None, limit: int
) -> list[Delivery]:
    query = select(DeliveryRow).where(DeliveryRow.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(DeliveryRow.status == status.value)
    query = query.order_by(DeliveryRow.created_at.desc(), DeliveryRow.id.desc()).limit(limit)
    return [to_delivery(row) for row in (await session.execute(query)).scalars()]


def to_delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        row.id,
        row.endpoint_id,
        row.event_id,
        row.event_type,
        row.tenant_id,
        row.tenant_seq,
        Status(row.status),
        row.attempts,
        row.next_attempt_at,
        row.last_status_code,
        row.latency_ms,
        row.last_error,
        row.replay_of,
        row.created_at,
        row.delivered_at,
    )


async def originals(
    session: AsyncSession,
    endpoint_id: str,
    *,
    delivery_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> Sequence[DeliveryRow]:
    """The endpoint's deliveries a replay sends again: one by id, or those created in a range;
    only those whose event the outbox still holds (an event past its retention is gone)."""
    retained = select(OutboxRow.id).where(OutboxRow.id == DeliveryRow.outbox_id).exists()
    query = select(DeliveryRow).where(DeliveryRow.endpoint_id == endpoint_id, retained)
    if delivery_id is not None:
        query = query.where(DeliveryRow.id == delivery_id)
    else:  # a range replays what the events were, not earlier replays of them
        query = query.where(DeliveryRow.replay_of.is_(None))
    if since is not None:
        query = query.where(DeliveryRow.created_at >= since)
    if until is not None:
        query = query.where(DeliveryRow.created_at < until)
    query = query.order_by(DeliveryRow.outbox_id)
    return list((await session.execute(query.limit(limit))).scalars())


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(DeliveryRow), list(rows))

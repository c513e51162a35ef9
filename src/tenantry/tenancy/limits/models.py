"""Control-database tables of limits (registered on the registry's metadata).

``usage_counters`` hold what a tenant uses against a cap: bytes and items per stored resource
(period ``lifetime``), and AI tokens per period (``2026-11`` or ``2026-11-25``). They change only
through guarded increments, so concurrent writers can never take a counter past its limit.
``usage_meters`` record consumption for reporting, one row per event, idempotent on
``(tenant_id, idempotency_key)``; ``hour`` is ``ts`` truncated, so sums by hour and day group
on a stored column on every database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.tenancy.registry.models import Base

__all__ = ["Base", "UsageCounterRow", "UsageMeterRow"]


def _tenant_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


class UsageCounterRow(Base):
    __tablename__ = "usage_counters"
    __table_args__ = (_tenant_fk(),)

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger)
    items: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class UsageMeterRow(Base):
    __tablename__ = "usage_meters"
    __table_args__ = (_tenant_fk(), Index("ix_usage_meters_tenant_hour", "tenant_id", "hour"))

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[datetime]
    hour: Mapped[datetime]

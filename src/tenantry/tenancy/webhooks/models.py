"""The control-database tables of webhooks (registered on the registry's metadata).

An endpoint belongs to a tenant, or to the platform when ``tenant_id`` is NULL. Its signing
secrets are versions, each sealed with the owner's key; deliveries are one row per endpoint and
event (and per replay), claimed by the worker's dispatcher when due.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.tenancy.registry.models import Base, UtcDateTime


class EndpointRow(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_tenant", "tenant_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True
    )
    url: Mapped[str] = mapped_column(Text)
    filters: Mapped[list[Any]]
    description: Mapped[str] = mapped_column(String(256), default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(256), nullable=True)


class SecretRow(Base):
    """One signing secret of an endpoint; the newest signs, an older one until it expires."""

    __tablename__ = "webhook_secrets"

    endpoint_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class DeliveryRow(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    outbox_id: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[str] = mapped_column(String(32))  # the event's tenant
    tenant_seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(256), nullable=True)
    replay_of: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class FannedRow(Base):
    """An outbox row the fan-out has handled, above the cursor (kept until the cursor passes)."""

    __tablename__ = "webhook_fanned"

    outbox_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fanned_at: Mapped[datetime]


class CursorRow(Base):
    """The fan-out's low-water mark in the outbox: every row at or below it was handled."""

    __tablename__ = "webhook_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    outbox_id: Mapped[int] = mapped_column(Integer)

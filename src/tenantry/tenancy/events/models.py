"""The control-database tables of the event outbox (registered on the registry's metadata).

A row is written in the transaction of the change it announces, so a rolled-back change emits
nothing; the worker's dispatcher publishes unpublished rows in ``id`` order and marks them.
``event`` is the final, signed CloudEvents JSON (what the bus and webhooks carry verbatim);
``tenant_seq`` numbers a tenant's events 1, 2, 3... in commit order, from the tenant's counter
in ``event_sequences`` (whose row lock also serialises a tenant's concurrent emitters).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.tenancy.registry.models import Base, UtcDateTime


class OutboxRow(Base):
    __tablename__ = "event_outbox"
    __table_args__ = (
        Index("ix_event_outbox_unpublished", "published_at", "id"),
        UniqueConstraint("tenant_id", "tenant_seq", name="ux_event_outbox_tenant_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    tenant_seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    event: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class EventSequenceRow(Base):
    """A tenant's last event sequence number (kept after its events are pruned)."""

    __tablename__ = "event_sequences"

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class EventMarkRow(Base):
    """An event that must be emitted once per key (``quota.exceeded`` per tenant, resource
    and window): the key is inserted with the event, a second insert does nothing."""

    __tablename__ = "event_marks"
    __table_args__ = (Index("ix_event_marks_created", "created_at"),)

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    created_at: Mapped[datetime]

"""The control-database table of the event outbox (registered on the registry's metadata).

A row is written in the transaction of the change it announces, so a rolled-back change emits
nothing; the worker's dispatcher publishes unpublished rows in ``id`` order and marks them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.tenancy.registry.models import Base, UtcDateTime


class OutboxRow(Base):
    __tablename__ = "event_outbox"
    __table_args__ = (Index("ix_event_outbox_unpublished", "published_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(64))
    event: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

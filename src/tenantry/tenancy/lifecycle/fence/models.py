"""The fence's tables (registered on the registry's metadata).

``fences``: one row per tenant ever fenced, its sequence bumped by each suspend and its
``raised_at`` renewed by each drain attempt. ``fence_processes``: one row per live process
(its heartbeat). ``fence_acks``: the highest sequence of each tenant a process has drained.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.tenancy.registry.models import Base


class FenceRow(Base):
    __tablename__ = "fences"
    __table_args__ = (Index("ix_fences_raised_at", "raised_at"),)

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime]


class FenceProcessRow(Base):
    __tablename__ = "fence_processes"
    __table_args__ = (Index("ix_fence_processes_heartbeat", "heartbeat_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class FenceAckRow(Base):
    __tablename__ = "fence_acks"

    process_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    acked_at: Mapped[datetime]

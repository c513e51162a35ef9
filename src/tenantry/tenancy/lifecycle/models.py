"""The ``jobs`` table (registered on the registry's metadata).

One row per lifecycle job. ``steps`` is the ordered list of step records (name, state,
attempts, start and end times, last error), rewritten as the job progresses. A partial unique
index allows one active (queued, scheduled or running) job per tenant on both databases, and
another one active job per tenant environment for jobs scoped to one (``env_id``: an
environment's purge, which changes nothing of the tenant's state and must not hold its slot
through the retention period). A job
is claimed by compare-and-set on ``claimed_by``/``claim_expires_at`` (after ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL); a claim the worker stops renewing expires, and another worker resumes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Boolean, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.tenancy.registry.models import Base, UtcDateTime

ACTIVE_STATES: Final = ("queued", "scheduled", "running")
_ACTIVE: Final = "state IN ('queued', 'scheduled', 'running')"
_TENANT_WIDE_SQL: Final = text(f"{_ACTIVE} AND env_id IS NULL")
_SCOPED_SQL: Final = text(f"{_ACTIVE} AND env_id IS NOT NULL")


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "ux_jobs_active_tenant",
            "tenant_id",
            unique=True,
            sqlite_where=_TENANT_WIDE_SQL,
            postgresql_where=_TENANT_WIDE_SQL,
        ),
        Index(
            "ux_jobs_active_environment",
            "tenant_id",
            "env_id",
            unique=True,
            sqlite_where=_SCOPED_SQL,
            postgresql_where=_SCOPED_SQL,
        ),
        Index("ix_jobs_state", "state", "not_before"),
        Index("ix_jobs_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    env_id: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None: tenant-wide
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    steps: Mapped[list[Any]]
    progress: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]]
    previous_state: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(128))
    correlation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WriteHoldRow(Base):
    """A write in flight of a ``migrating`` tenant (``lifecycle.freeze``): the migration's
    cutover waits until none is left; a hold its process never gave back expires."""

    __tablename__ = "write_holds"
    __table_args__ = (Index("ix_write_holds_tenant", "tenant_id", "expires_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime]

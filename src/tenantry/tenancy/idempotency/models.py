"""Control-database tables of idempotency (registered on the registry's metadata)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.tenancy.registry.models import Base

__all__ = ["Base", "IdempotencyRow"]


class IdempotencyRow(Base):
    """One POST made under an ``Idempotency-Key`` with one credential (principal, team and
    role) in one tenant environment.

    ``status`` is None while the request runs (the row is then a claim held by ``attempt`` until
    ``lease_until``); afterwards it holds the response, sealed with the tenant's key, until
    ``expires_at``. ``principal`` holds the credential as a SHA-256 digest: a principal's id
    has no bounded length and this table has no need to show it.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        Index("ix_idempotency_records_expires_at", "expires_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    env_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    principal: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[str] = mapped_column(String(32))
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime]
    lease_until: Mapped[datetime]
    expires_at: Mapped[datetime]

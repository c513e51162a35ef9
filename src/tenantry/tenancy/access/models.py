"""Control-database tables of access (registered on the registry's metadata).

``api_keys`` keeps each service key's grant and the SHA-256 digest of its secret (never the
secret); a revoked key keeps its row, with ``revoked_at``, for audit. ``team_id`` is not a
foreign key: applying a bundle rewrites a tenant's team rows, which must not take its keys.

``audit_records`` is an append-only log of access decisions worth keeping: refused cross-tenant
and cross-team attempts, every platform-admin act on a tenant, and token, key and signing-key
administration. ``tenant_id`` is deliberately not a foreign key: a record outlives its tenant
and may name a tenant that never existed (an attempt on a guessed id). ``tenancy/audit`` chains
the records (docs/audit.md).

``issued_tokens`` names the tenants each token grants (one row per tenant, none for a platform
token) until it expires, so a revocation by id can be confined to a tenant. ``token_revocations``
lists revoked tokens until they expire, numbered by ``seq`` from the one-row
``token_revocation_counter``: a revocation takes the counter's row lock, so numbers commit in
order and a process polling ``seq > last seen`` never skips one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.tenancy.registry.models import Base, UtcDateTime

__all__ = [
    "ApiKeyRow",
    "AuditRecordRow",
    "Base",
    "IssuedTokenRow",
    "RevocationCounterRow",
    "TokenRevocationRow",
]


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        Index("ix_api_keys_tenant", "tenant_id"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    secret_digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AuditRecordRow(Base):
    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_tenant_ts", "tenant_id", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(128))
    tenant_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    correlation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[dict[str, Any]]
    env_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    team_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    credential_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target: Mapped[str | None] = mapped_column(String(256), nullable=True)
    request_hmac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_ref: Mapped[str | None] = mapped_column(String(80), nullable=True)


class IssuedTokenRow(Base):
    __tablename__ = "issued_tokens"
    __table_args__ = (
        Index("ix_issued_tokens_jti", "jti"),
        Index("ix_issued_tokens_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    jti: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    expires_at: Mapped[datetime]


class TokenRevocationRow(Base):
    __tablename__ = "token_revocations"
    __table_args__ = (Index("ix_token_revocations_expires_at", "expires_at"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    jti: Mapped[str] = mapped_column(String(32), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime]
    revoked_by: Mapped[str] = mapped_column(String(128))


class RevocationCounterRow(Base):
    __tablename__ = "token_revocation_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(Integer)

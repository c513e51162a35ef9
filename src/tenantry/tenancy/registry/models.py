"""Control-database tables (SQLAlchemy 2 declarative), portable across SQLite and PostgreSQL.

The tenant row holds the desired ``spec`` (what the manifests say), its ``generation`` (bumped
only when the spec changes) and the observed status. Environments, teams, channels and flows are
projections of the spec kept as rows so they can be queried; flows keep every applied version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Json = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: Json,
        list[Any]: Json,
        datetime: UtcDateTime,
    }


def _tenant_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(32))
    plan: Mapped[str] = mapped_column(String(32))
    settings: Mapped[dict[str, Any]]
    spec: Mapped[dict[str, Any]]
    spec_hash: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int] = mapped_column(Integer)
    observed_generation: Mapped[int] = mapped_column(Integer, default=0)
    conditions: Mapped[list[Any]]
    placement: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    resources: Mapped[list[Any]]
    lifecycle_state: Mapped[str] = mapped_column(String(16))
    deletion_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16), server_default="bundle")  # Source
    # The credential, Idempotency-Key and request that created it over the API (a digest).
    creation_request: Mapped[str | None] = mapped_column(String(160), nullable=True)
    # a migration's write freeze: writes wait (then 503) until then; see lifecycle/freeze.py
    writes_frozen_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PlanRow(Base):
    """A plan a bundle defined: its limits (only what it sets), kept for tenants to name."""

    __tablename__ = "plans"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    limits: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class EnvironmentRow(Base):
    __tablename__ = "environments"
    __table_args__ = (_tenant_fk(),)

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    position: Mapped[int] = mapped_column(Integer)


class TeamRow(Base):
    __tablename__ = "teams"
    __table_args__ = (_tenant_fk(),)

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    flow: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ChannelRow(Base):
    __tablename__ = "channels"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"], ondelete="CASCADE"
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]]
    flow: Mapped[str | None] = mapped_column(String(64), nullable=True)


class FlowRow(Base):
    """One applied version of one tenant's flow; versions are immutable once applied."""

    __tablename__ = "flows"
    __table_args__ = (_tenant_fk(),)

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    definition: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class AppliedManifestRow(Base):
    """A record of each apply that changed something."""

    __tablename__ = "applied_manifests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    summary: Mapped[dict[str, Any]]
    bundle: Mapped[dict[str, Any]]
    applied_at: Mapped[datetime]


class SchemaRevisionRow(Base):
    """The tenant migration revision of one tenant environment, so a no-op fleet migration is
    one query. ``revision`` is None until the first migration succeeds."""

    __tablename__ = "tenant_schema_revisions"
    __table_args__ = (_tenant_fk(),)

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    env_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[dict[str, Any]]
    revision: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime]


class SecretVersionRow(Base):
    """One immutable version of one secret, sealed with its owner's key (never in the clear).

    ``path`` is the secret's namespace path (``core.names.secret_path``); ``tenant_id`` is None
    for the platform's ``global/`` secrets. ``kid`` names the key that wraps the data key, so a
    rotation finds what it must re-wrap and a retirement what still needs the old key.
    """

    __tablename__ = "secret_versions"
    __table_args__ = (_tenant_fk(), Index("ix_secret_versions_tenant_kid", "tenant_id", "kid"))

    path: Mapped[str] = mapped_column(String(160), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tenant_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    team_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    name: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

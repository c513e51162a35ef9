"""Where a tenant environment's data lives, as a migration target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.isolation.placement import Relational, RelationalPlacement


@dataclass(frozen=True, slots=True, order=True)
class Target:
    tenant_id: str
    env_id: str
    url: str  # a synchronous SQLAlchemy URL
    schema: str | None  # the tenant schema on a shared database; None for a whole database


def target(
    tenant_id: str,
    env_id: str,
    relational: RelationalPlacement,
    *,
    postgres_url: str | None,
    data_root: Path,
) -> Target:
    """The migration target of one tenant environment on the configured backend."""
    if relational.mode is Relational.EXTERNAL:
        raise InvalidInput(
            "st-byoc databases are migrated by their owner", code="placement.external"
        )
    if postgres_url is None:
        path = data_root / names.sqlite_path(tenant_id, env_id)
        return Target(tenant_id, env_id, f"sqlite:///{path}", None)
    base = make_url(postgres_url).set(drivername="postgresql+psycopg")
    if relational.mode is Relational.SHARED_SCHEMA:
        return Target(
            tenant_id, env_id, base.render_as_string(hide_password=False), relational.name
        )
    database = base.set(database=relational.name)
    return Target(tenant_id, env_id, database.render_as_string(hide_password=False), None)

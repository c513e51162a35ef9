"""Alembic environment: migrations run on a connection handed in by ``database.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tenantry.tenancy.tables import metadata

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run control-database migrations with `tenantry` (database.migrate)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

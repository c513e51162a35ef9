"""Alembic environment for tenant data: runs on a connection already placed in the tenant's
schema (search path), database or SQLite file by ``tenancy.schema.runner``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("tenant migrations run through `tenantry migrate`")
schema: str | None = context.config.attributes.get("schema")

context.configure(
    connection=connection,
    target_metadata=None,
    version_table_schema=schema,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

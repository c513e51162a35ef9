"""Alembic environment for tenant data.

Online, it runs on a connection already placed in the tenant's schema (search path), database
or SQLite file by ``tenancy.schema.runner``. Offline, it renders PostgreSQL SQL once, which
``tenancy.schema.fast`` then applies to many tenant schemas concurrently.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

if context.is_offline_mode():
    context.configure(
        dialect_name="postgresql",
        literal_binds=True,
        transactional_ddl=False,  # the applier wraps each tenant in its own transaction
        target_metadata=None,
    )
else:
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("tenant migrations run through `tenantry migrate`")
    context.configure(
        connection=connection,
        target_metadata=None,
        version_table_schema=context.config.attributes.get("schema"),
        render_as_batch=connection.dialect.name == "sqlite",
    )
with context.begin_transaction():
    context.run_migrations()

"""tenant identity: a table inside each tenant environment that names its owner

Revision ID: t0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenantry_identity",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("env_id", sa.String(16), primary_key=True),
    )
    context = op.get_context()
    identity = context.config.attributes if context.config else {}
    if "tenant_id" in identity:
        table = sa.table("tenantry_identity", sa.column("tenant_id"), sa.column("env_id"))
        op.bulk_insert(table, [{"tenant_id": identity["tenant_id"], "env_id": identity["env_id"]}])


def downgrade() -> None:
    op.drop_table("tenantry_identity")

"""tenant identity: a table inside each tenant environment that names its owner (the
migration runner writes the row, so the rendered SQL stays the same for every tenant)

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


def downgrade() -> None:
    op.drop_table("tenantry_identity")

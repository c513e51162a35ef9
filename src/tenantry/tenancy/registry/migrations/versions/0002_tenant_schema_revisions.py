"""tenant schema revisions: the tenant migration revision of each tenant environment

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tenant_schema_revisions",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("env_id", sa.String(16), primary_key=True),
        sa.Column("target", JSON, nullable=False),
        sa.Column("revision", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_tenant_schema_revisions_revision", "tenant_schema_revisions", ["revision"])


def downgrade() -> None:
    op.drop_index("ix_tenant_schema_revisions_revision", "tenant_schema_revisions")
    op.drop_table("tenant_schema_revisions")

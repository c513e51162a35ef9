"""limits: usage meters and storage quota counters

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def _tenant_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "usage_counters",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("resource", sa.String(32), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        _tenant_fk(),
    )
    op.create_table(
        "usage_meters",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("idempotency_key", sa.String(128), primary_key=True),
        sa.Column("resource", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("ts", TIMESTAMP, nullable=False),
        sa.Column("hour", TIMESTAMP, nullable=False),
        _tenant_fk(),
    )
    op.create_index("ix_usage_meters_tenant_hour", "usage_meters", ["tenant_id", "hour"])


def downgrade() -> None:
    op.drop_index("ix_usage_meters_tenant_hour", "usage_meters")
    op.drop_table("usage_meters")
    op.drop_table("usage_counters")

"""the suspend's fence: fences raised per tenant, process heartbeats, and their drains

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fences",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("raised_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_fences_raised_at", "fences", ["raised_at"])
    op.create_table(
        "fence_processes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_fence_processes_heartbeat", "fence_processes", ["heartbeat_at"])
    op.create_table(
        "fence_acks",
        sa.Column("process_id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("acked_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("fence_acks")
    op.drop_index("ix_fence_processes_heartbeat", "fence_processes")
    op.drop_table("fence_processes")
    op.drop_index("ix_fences_raised_at", "fences")
    op.drop_table("fences")

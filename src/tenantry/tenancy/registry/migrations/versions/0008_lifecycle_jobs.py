"""lifecycle jobs, and tenants marked for deletion before jobs existed moved to ``deleting``

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
ACTIVE = sa.text("state IN ('queued', 'scheduled', 'running')")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("previous_state", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("not_before", TIMESTAMP, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claim_expires_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
    )
    op.create_index(
        "ux_jobs_active_tenant",
        "jobs",
        ["tenant_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index("ix_jobs_state", "jobs", ["state", "not_before"])
    op.create_index("ix_jobs_tenant_created", "jobs", ["tenant_id", "created_at"])
    # Tenants a prune marked before jobs existed: deleting, their purge scheduled by the next
    # `tenantry delete` (nothing is removed here).
    op.execute(
        "UPDATE tenants SET lifecycle_state = 'deleting' WHERE deletion_requested_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_tenant_created", "jobs")
    op.drop_index("ix_jobs_state", "jobs")
    op.drop_index("ux_jobs_active_tenant", "jobs")
    op.drop_table("jobs")

"""a job may be scoped to one environment (an environment's purge), in a slot of its own

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ACTIVE = "state IN ('queued', 'scheduled', 'running')"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("env_id", sa.String(16), nullable=True))
    op.drop_index("ux_jobs_active_tenant", "jobs")
    tenant_wide = sa.text(f"{ACTIVE} AND env_id IS NULL")
    op.create_index(
        "ux_jobs_active_tenant",
        "jobs",
        ["tenant_id"],
        unique=True,
        sqlite_where=tenant_wide,
        postgresql_where=tenant_wide,
    )
    scoped = sa.text(f"{ACTIVE} AND env_id IS NOT NULL")
    op.create_index(
        "ux_jobs_active_environment",
        "jobs",
        ["tenant_id", "env_id"],
        unique=True,
        sqlite_where=scoped,
        postgresql_where=scoped,
    )


def downgrade() -> None:
    op.drop_index("ux_jobs_active_environment", "jobs")
    op.drop_index("ux_jobs_active_tenant", "jobs")
    op.execute(  # environments' purges scheduled under 0012 cannot share the tenant's slot
        "DELETE FROM jobs WHERE env_id IS NOT NULL AND state IN ('queued', 'scheduled', 'running')"
    )
    active = sa.text(ACTIVE)
    op.create_index(
        "ux_jobs_active_tenant",
        "jobs",
        ["tenant_id"],
        unique=True,
        sqlite_where=active,
        postgresql_where=active,
    )
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("env_id")

"""audit tables are append-only for the serving role

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import context, op

from tenantry.tenancy.audit import append_only

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Triggers on whichever audit tables exist; on PostgreSQL, with an owner URL configured,
    the serving role's grants (``database.migrate`` re-applies both after every run)."""
    serving_role = context.config.attributes.get("serving_role")
    append_only.install(op.get_bind(), serving_role=serving_role)


def downgrade() -> None:
    append_only.uninstall(op.get_bind())

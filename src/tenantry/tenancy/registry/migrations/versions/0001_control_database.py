"""control database: tenants, environments, teams, channels, flows, applied manifests

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
TENANT_FK = ("tenant_id",), ("tenants.id",)


def upgrade() -> None:
    op.create_table(
        "applied_manifests",
        sa.Column("id", sa.Integer(), autoincrement=True, primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("bundle", JSON, nullable=False),
        sa.Column("applied_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("plan", sa.String(32), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("observed_generation", sa.Integer(), nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("placement", JSON, nullable=True),
        sa.Column("resources", JSON, nullable=False),
        sa.Column("lifecycle_state", sa.String(16), nullable=False),
        sa.Column("deletion_requested_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "environments",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(*TENANT_FK, ondelete="CASCADE"),
    )
    op.create_table(
        "flows",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(*TENANT_FK, ondelete="CASCADE"),
    )
    op.create_table(
        "teams",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("flow", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(*TENANT_FK, ondelete="CASCADE"),
    )
    op.create_table(
        "channels",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("flow", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"], ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    for table in ("channels", "teams", "flows", "environments", "tenants", "applied_manifests"):
        op.drop_table(table)

"""access: API keys, signing keys and audit records of refused access

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Signing keys live in the signing keyring file under the data directory, not in this database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("secret_digest", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant_id"])
    op.create_table(
        "audit_records",
        sa.Column("id", sa.Integer(), autoincrement=True, primary_key=True),
        sa.Column("ts", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("details", JSON, nullable=False),
    )
    op.create_index("ix_audit_records_tenant_ts", "audit_records", ["tenant_id", "ts"])


def downgrade() -> None:
    op.drop_index("ix_audit_records_tenant_ts", "audit_records")
    op.drop_table("audit_records")
    op.drop_index("ix_api_keys_tenant", "api_keys")
    op.drop_table("api_keys")

"""plans and sources: stored plans, and where each tenant came from (a bundle or the API)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("limits", JSON, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    # Plain ADD COLUMN on both databases: a batch copy of ``tenants`` on SQLite would drop the
    # table, and with it (ON DELETE CASCADE) every row that refers to a tenant.
    op.add_column(
        "tenants", sa.Column("source", sa.String(16), nullable=False, server_default="bundle")
    )
    op.add_column("tenants", sa.Column("creation_request", sa.String(160), nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "creation_request")  # native DROP COLUMN (SQLite 3.35+)
    op.drop_column("tenants", "source")
    op.drop_table("plans")

"""write freeze of a migrating tenant: ``tenants.writes_frozen_until`` and the ``write_holds``
that writes in flight take while their tenant is ``migrating``

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A plain ADD COLUMN: a batch copy of ``tenants`` on SQLite would cascade-delete every row
    # that refers to a tenant.
    op.add_column("tenants", sa.Column("writes_frozen_until", TIMESTAMP, nullable=True))
    op.create_table(
        "write_holds",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_write_holds_tenant", "write_holds", ["tenant_id", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_write_holds_tenant", table_name="write_holds")
    op.drop_table("write_holds")
    op.drop_column("tenants", "writes_frozen_until")

"""write freeze of a migrating tenant: ``tenants.writes_frozen_until`` and the ``write_holds``
that writes in flight take while their tenant is ``migrating``

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("writes_frozen_until", TIMESTAMP, nullable=True))
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
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("writes_frozen_until")

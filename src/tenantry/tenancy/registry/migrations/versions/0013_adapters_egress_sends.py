"""replies sent to providers (Slack, Telegram), so a reply published again is not sent twice

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "egress_sends",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("env_id", sa.String(16), primary_key=True),
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_egress_sends_sent_at", "egress_sends", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_egress_sends_sent_at", "egress_sends")
    op.drop_table("egress_sends")

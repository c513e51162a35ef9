"""the transactional outbox of tenancy events, its per-tenant sequence and once-marks

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("tenant_seq", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("event", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("tenant_id", "tenant_seq", name="ux_event_outbox_tenant_seq"),
    )
    op.create_index("ix_event_outbox_unpublished", "event_outbox", ["published_at", "id"])
    op.create_table(
        "event_sequences",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "event_marks",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_event_marks_created", "event_marks", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_event_marks_created", "event_marks")
    op.drop_table("event_marks")
    op.drop_table("event_sequences")
    op.drop_index("ix_event_outbox_unpublished", "event_outbox")
    op.drop_table("event_outbox")

"""audit records name env, team, credential, target, a keyed request HMAC and a pseudonymised
user; the hash chain (``audit_chain``) and its signed checkpoints (``audit_checkpoints``)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("env_id", sa.String(16)),
    ("team_id", sa.String(32)),
    ("credential_id", sa.String(64)),
    ("target", sa.String(256)),
    ("request_hmac", sa.String(64)),
    ("user_ref", sa.String(80)),
)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("audit_records") as table:
        for name, kind in _COLUMNS:
            table.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "audit_chain",
        sa.Column("chain", sa.String(40), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("record_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chain", sa.String(40), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("ts", TIMESTAMP, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_index("ix_audit_checkpoints_chain", "audit_checkpoints", ["chain", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoints_chain", "audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_records") as table:
        for name, _ in reversed(_COLUMNS):
            table.drop_column(name)

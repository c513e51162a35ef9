"""token revocations: the tenants of issued tokens, revoked tokens and their counter

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "issued_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("jti", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=True),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_issued_tokens_jti", "issued_tokens", ["jti"])
    op.create_index("ix_issued_tokens_expires_at", "issued_tokens", ["expires_at"])
    op.create_table(
        "token_revocations",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("jti", sa.String(32), nullable=False, unique=True),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_token_revocations_expires_at", "token_revocations", ["expires_at"])
    counter = op.create_table(
        "token_revocation_counter",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("value", sa.Integer(), nullable=False),
    )
    op.bulk_insert(counter, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("token_revocation_counter")
    op.drop_index("ix_token_revocations_expires_at", "token_revocations")
    op.drop_table("token_revocations")
    op.drop_index("ix_issued_tokens_expires_at", "issued_tokens")
    op.drop_index("ix_issued_tokens_jti", "issued_tokens")
    op.drop_table("issued_tokens")

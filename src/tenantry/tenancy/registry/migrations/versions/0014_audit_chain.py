"""audit records name env, team, credential, target and a keyed request HMAC

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
)


def upgrade() -> None:
    with op.batch_alter_table("audit_records") as table:
        for name, kind in _COLUMNS:
            table.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_records") as table:
        for name, _ in reversed(_COLUMNS):
            table.drop_column(name)

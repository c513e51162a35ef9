"""webhook endpoints and their deliveries

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled by the webhooks work of issue 13


def downgrade() -> None:
    pass

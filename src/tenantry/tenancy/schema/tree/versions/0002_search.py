"""search: the tenant environment's full-text index (``tenantry.runtime.search``)

PostgreSQL: table ``tenantry_search`` with a generated ``tsvector`` column and a GIN index, handed
to the tenant environment's role, which owns the schema (or database) and is the role the
runtime's transactions run as. SQLite: table ``tenantry_search`` and an external-content FTS5
table ``tenantry_search_fts`` kept in step by triggers.

The PostgreSQL SQL is the same for every tenant (it is rendered once, offline): the owner is
looked up from the catalog at apply time, never written into the script.

Revision ID: t0002
Revises: t0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None

_DOCUMENT = (
    "setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), 'B')"
)
# The schema's owner (a tenant schema) or the database's owner (a dedicated database, whose
# tables live in `public`). No '%' and no ':' here: the script is rendered offline and then
# executed verbatim.
_HAND_OVER = """
DO $$
DECLARE
    here name := current_schema();
    owner name;
BEGIN
    SELECT CASE WHEN n.nspname = 'public' THEN pg_get_userbyid(d.datdba)
                ELSE pg_get_userbyid(n.nspowner) END
      INTO owner
      FROM pg_namespace n, pg_database d
     WHERE n.nspname = here AND d.datname = current_database();
    IF owner IS NOT NULL AND owner <> current_user THEN
        EXECUTE 'ALTER TABLE ' || quote_ident(here) || '.tenantry_search OWNER TO '
            || quote_ident(owner);
        EXECUTE 'GRANT SELECT ON ' || quote_ident(here) || '.tenantry_identity TO '
            || quote_ident(owner);
    END IF;
END
$$
"""
_SQLITE = (
    """CREATE TABLE tenantry_search (
        id INTEGER PRIMARY KEY,
        tenant_id VARCHAR(32) NOT NULL,
        env_id VARCHAR(16) NOT NULL,
        doc_id VARCHAR(128) NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}',
        updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        UNIQUE (tenant_id, env_id, doc_id)
    )""",
    """CREATE VIRTUAL TABLE tenantry_search_fts USING fts5(
        title, body, content='tenantry_search', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER tenantry_search_ai AFTER INSERT ON tenantry_search BEGIN
        INSERT INTO tenantry_search_fts (rowid, title, body)
        VALUES (new.id, new.title, new.body);
    END""",
    """CREATE TRIGGER tenantry_search_ad AFTER DELETE ON tenantry_search BEGIN
        INSERT INTO tenantry_search_fts (tenantry_search_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END""",
    """CREATE TRIGGER tenantry_search_au AFTER UPDATE ON tenantry_search BEGIN
        INSERT INTO tenantry_search_fts (tenantry_search_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO tenantry_search_fts (rowid, title, body)
        VALUES (new.id, new.title, new.body);
    END""",
)


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgresql():
        for statement in _SQLITE:
            op.execute(statement)
        return
    op.create_table(
        "tenantry_search",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("env_id", sa.String(16), primary_key=True),
        sa.Column("doc_id", sa.String(128), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("fields", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("document", postgresql.TSVECTOR, sa.Computed(_DOCUMENT, persisted=True)),
    )
    op.create_index(
        "tenantry_search_document", "tenantry_search", ["document"], postgresql_using="gin"
    )
    op.execute(_HAND_OVER)


def downgrade() -> None:
    if _postgresql():
        op.drop_table("tenantry_search")
        return
    for trigger in ("ai", "ad", "au"):
        op.execute(f"DROP TRIGGER IF EXISTS tenantry_search_{trigger}")
    op.execute("DROP TABLE IF EXISTS tenantry_search_fts")
    op.execute("DROP TABLE IF EXISTS tenantry_search")

"""search language: stemming by the tenant's language (docs/runtime.md, "Search")

PostgreSQL: each document carries the ``regconfig`` it is indexed with, and the generated
``tsvector`` uses it; ``tenantry_search_language`` records the configuration of the tenant
environment's documents. Existing documents keep ``simple``, so their vectors do not change.
SQLite: a second external-content FTS5 table with the ``porter`` tokenizer; the triggers keep in
step the one table that ``tenantry_search_language`` names for the row's tenant environment
(none: the plain table, as before).

The PostgreSQL SQL is the same for every tenant (rendered once, offline): no tenant name, no
``%`` and no ``:`` in it.

Revision ID: t0003
Revises: t0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "t0003"
down_revision = "t0002"
branch_labels = None
depends_on = None

_SIMPLE = "CAST('pg_catalog.simple' AS regconfig)"


def _vector(config: str) -> str:
    return (
        f"setweight(to_tsvector({config}, title), 'A') || "
        f"setweight(to_tsvector({config}, body), 'B')"
    )


def _document(config: str) -> list[str]:
    return [
        "ALTER TABLE tenantry_search DROP COLUMN document",  # its GIN index goes with it
        "ALTER TABLE tenantry_search ADD COLUMN document tsvector "
        f"GENERATED ALWAYS AS ({_vector(config)}) STORED",
        "CREATE INDEX tenantry_search_document ON tenantry_search USING gin (document)",
    ]


# The table goes to the owner of the schema (or of the database, whose tables live in `public`):
# the tenant environment's role, as tenantry_search in t0002.
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
        EXECUTE 'ALTER TABLE ' || quote_ident(here) || '.tenantry_search_language OWNER TO '
            || quote_ident(owner);
    END IF;
END
$$
"""
_POSTGRESQL = [
    f"ALTER TABLE tenantry_search ADD COLUMN config regconfig NOT NULL DEFAULT {_SIMPLE}",
    *_document("config"),
    """CREATE TABLE tenantry_search_language (
        tenant_id VARCHAR(32) NOT NULL,
        env_id VARCHAR(16) NOT NULL,
        config regconfig NOT NULL,
        PRIMARY KEY (tenant_id, env_id)
    )""",
    _HAND_OVER,
]


def _kind(row: str) -> str:
    return (
        "COALESCE((SELECT l.stemming FROM tenantry_search_language AS l "  # noqa: S608
        f"WHERE l.tenant_id = {row}.tenant_id AND l.env_id = {row}.env_id), 'plain')"
    )


def _add(table: str, kind: str) -> str:
    return (
        f"INSERT INTO {table} (rowid, title, body) "
        f"SELECT new.id, new.title, new.body WHERE {_kind('new')} = '{kind}';"
    )


def _drop(table: str, kind: str) -> str:  # external content: the values indexed, to unindex
    return (
        f"INSERT INTO {table} ({table}, rowid, title, body) "
        f"SELECT 'delete', old.id, old.title, old.body WHERE {_kind('old')} = '{kind}';"
    )


_TABLES = {"tenantry_search_fts": "plain", "tenantry_search_porter": "porter"}
_TRIGGERS = {
    "ai": "INSERT",
    "ad": "DELETE",
    "au": "UPDATE",
}


def _trigger(name: str, event: str) -> str:
    steps = []
    for table, kind in _TABLES.items():
        if event != "INSERT":
            steps.append(_drop(table, kind))  # first: the old values leave, then the new come
        if event != "DELETE":
            steps.append(_add(table, kind))
    head = f"CREATE TRIGGER tenantry_search_{name} AFTER {event} ON tenantry_search BEGIN"
    return "\n".join([head, *steps, "END"])


_SQLITE = [
    *(f"DROP TRIGGER tenantry_search_{name}" for name in _TRIGGERS),
    """CREATE TABLE tenantry_search_language (
        tenant_id VARCHAR(32) NOT NULL,
        env_id VARCHAR(16) NOT NULL,
        stemming VARCHAR(16) NOT NULL,
        PRIMARY KEY (tenant_id, env_id)
    )""",
    """CREATE VIRTUAL TABLE tenantry_search_porter USING fts5(
        title, body, content='tenantry_search', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )""",
    *(_trigger(name, event) for name, event in _TRIGGERS.items()),
]
# Back to t0002: one plain table, kept in step for every row, rebuilt from the content.
_SQLITE_DOWN = [
    *(f"DROP TRIGGER tenantry_search_{name}" for name in _TRIGGERS),
    "DROP TABLE tenantry_search_porter",
    "DROP TABLE tenantry_search_language",
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
    "INSERT INTO tenantry_search_fts (tenantry_search_fts) VALUES ('rebuild')",
]
_POSTGRESQL_DOWN = [
    "DROP TABLE tenantry_search_language",
    *_document(_SIMPLE),
    "ALTER TABLE tenantry_search DROP COLUMN config",
]


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    for statement in _POSTGRESQL if _postgresql() else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    for statement in _POSTGRESQL_DOWN if _postgresql() else _SQLITE_DOWN:
        op.execute(statement)

"""Search on the embedded default: SQLite FTS5 in the tenant environment's own file.

Table ``tenantry_search`` holds documents with their tenant and environment. An FTS5 tokenizer is
fixed per table, so there is one external-content FTS5 table per stemming kind (tenant migrations
``t0002``, ``t0003``): ``tenantry_search_fts`` (plain ``unicode61``) and
``tenantry_search_porter`` (Porter's English stemmer over it). ``tenantry_search_language``
records a tenant environment's kind (none: plain); triggers index its documents in that table
only. Every statement filters ``tenant_id``/``env_id`` with parameters bound from the index's own
binding. The query is parsed by :func:`tenantry.runtime.search.parse` and rendered as an FTS5
expression in which every phrase is a double-quoted string, so FTS5 operators, column filters,
prefixes and quotes in the input are only ever words; the expression itself is a bound parameter.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.runtime.search import query as parsing
from tenantry.runtime.search import schemas
from tenantry.runtime.search.sql import SqlSearchIndex

PLAIN: Final = "plain"
PORTER: Final = "porter"
TABLES: Final = {PLAIN: "tenantry_search_fts", PORTER: "tenantry_search_porter"}
STEMMED: Final = {"english": PORTER}  # the languages FTS5 stems; the others are plain

_UPSERT = text(
    "INSERT INTO tenantry_search (tenant_id, env_id, doc_id, title, body, fields) "
    "VALUES (:t, :e, :d, :title, :body, :fields) "
    "ON CONFLICT (tenant_id, env_id, doc_id) DO UPDATE SET title = excluded.title, "
    "body = excluded.body, fields = excluded.fields, updated_at = CURRENT_TIMESTAMP"
)
_DELETE = text("DELETE FROM tenantry_search WHERE tenant_id = :t AND env_id = :e AND doc_id = :d")
_KIND = text("SELECT stemming FROM tenantry_search_language WHERE tenant_id = :t AND env_id = :e")
_RECORD = text(
    "INSERT INTO tenantry_search_language (tenant_id, env_id, stemming) VALUES (:t, :e, :kind) "
    "ON CONFLICT (tenant_id, env_id) DO UPDATE SET stemming = excluded.stemming"
)


def _matches(table: str) -> str:
    return (
        "SELECT d.doc_id AS doc_id, d.title, "  # noqa: S608 - table names from TABLES
        f"snippet({table}, 1, :start, :end, '\u2026', 16), "
        f"-bm25({table}, 2.0, 1.0) AS score, d.fields "
        f"FROM {table} JOIN tenantry_search AS d ON d.id = {table}.rowid "
        f"WHERE {table} MATCH :q AND d.tenant_id = :t AND d.env_id = :e"
    )


# A document is indexed in exactly one table, its tenant environment's, so a search reads both
# (the other holds none of this tenant environment's rows) and needs no look-up of the kind.
_SEARCH = text(
    " UNION ALL ".join(_matches(table) for table in TABLES.values())
    + " ORDER BY score DESC, doc_id LIMIT :limit OFFSET :offset"
)


# External content: a row leaves an FTS5 table by the values it was indexed with, which are the
# stored ones (the triggers kept this table in step with them while it was the kind's).
def _unindex(table: str) -> TextClause:
    return text(
        f"INSERT INTO {table} ({table}, rowid, title, body) SELECT 'delete', id, title, body "  # noqa: S608
        "FROM tenantry_search WHERE tenant_id = :t AND env_id = :e"
    )


def _index(table: str) -> TextClause:
    return text(
        f"INSERT INTO {table} (rowid, title, body) SELECT id, title, body "  # noqa: S608
        "FROM tenantry_search WHERE tenant_id = :t AND env_id = :e"
    )


_UNINDEX: Final = {kind: _unindex(table) for kind, table in TABLES.items()}
_INDEX: Final = {kind: _index(table) for kind, table in TABLES.items()}


def fts5(query: parsing.Query) -> str:
    """An FTS5 expression for ``query``: quoted phrases joined by AND, NOT and OR."""
    alternatives = []
    for alternative in query.alternatives:
        expression = "(" + " AND ".join(_phrase(p) for p in alternative.include) + ")"
        for phrase in alternative.exclude:
            expression += " NOT " + _phrase(phrase)
        alternatives.append("(" + expression + ")")
    return " OR ".join(alternatives)


def _phrase(words: parsing.Phrase) -> str:
    return '"' + " ".join(words).replace('"', '""') + '"'


class SqliteSearchIndex(SqlSearchIndex):
    """The search index of the tenant environment that ``data`` is bound to."""

    dialect = "sqlite"
    upsert = _UPSERT
    remove = _DELETE
    find = _SEARCH

    def query_values(self, query: parsing.Query) -> dict[str, object]:
        return {"q": fts5(query), "start": schemas.SNIPPET_START, "end": schemas.SNIPPET_END}

    @property
    def kind(self) -> str:
        """The stemming kind of the binding's language."""
        return STEMMED.get(self.language or "", PLAIN)

    async def settle(self, conn: AsyncConnection) -> bool:
        # The transaction holds the file's write lock from its start (BEGIN IMMEDIATE).
        stored = await _stored(conn, self._bound)
        if stored == self.kind:
            return False
        await conn.execute(_UNINDEX[stored], self._bound)
        await conn.execute(_INDEX[self.kind], self._bound)
        await conn.execute(_RECORD, {**self._bound, "kind": self.kind})
        return True


async def _stored(conn: AsyncConnection, bound: dict[str, str]) -> str:
    kind = (await conn.execute(_KIND, bound)).scalar()
    return str(kind) if kind in TABLES else PLAIN

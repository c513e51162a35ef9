"""Search on the embedded default: SQLite FTS5 in the tenant environment's own file.

Table ``tenantry_search`` holds documents with their tenant and environment; the FTS5 table
``tenantry_search_fts`` indexes title and body (tenant migration ``t0002``). Every statement
filters ``tenant_id``/``env_id`` with parameters bound from the index's own binding. The query is
parsed by :func:`tenantry.runtime.search.parse` and rendered as an FTS5 expression in which every
phrase is a double-quoted string, so FTS5 operators, column filters, prefixes and quotes in the
input are only ever words; the expression itself is a bound parameter.
"""

from __future__ import annotations

from sqlalchemy import text

from tenantry.runtime.search import query as parsing
from tenantry.runtime.search import schemas
from tenantry.runtime.search.sql import SqlSearchIndex

_UPSERT = text(
    "INSERT INTO tenantry_search (tenant_id, env_id, doc_id, title, body, fields) "
    "VALUES (:t, :e, :d, :title, :body, :fields) "
    "ON CONFLICT (tenant_id, env_id, doc_id) DO UPDATE SET title = excluded.title, "
    "body = excluded.body, fields = excluded.fields, updated_at = CURRENT_TIMESTAMP"
)
_DELETE = text("DELETE FROM tenantry_search WHERE tenant_id = :t AND env_id = :e AND doc_id = :d")
_SEARCH = text(
    "SELECT d.doc_id, d.title, "
    "snippet(tenantry_search_fts, 1, :start, :end, '\u2026', 16), "
    "-bm25(tenantry_search_fts, 2.0, 1.0) AS score, d.fields "
    "FROM tenantry_search_fts JOIN tenantry_search AS d ON d.id = tenantry_search_fts.rowid "
    "WHERE tenantry_search_fts MATCH :q AND d.tenant_id = :t AND d.env_id = :e "
    "ORDER BY score DESC, d.doc_id LIMIT :limit OFFSET :offset"
)


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

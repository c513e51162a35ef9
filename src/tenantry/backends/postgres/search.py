"""Search on PostgreSQL: full-text search in the tenant environment's own schema or database.

Table ``tenantry_search`` (tenant migration ``t0002``) holds each document with its tenant and
environment and a generated ``tsvector`` (title weighted above body) under a GIN index. Every
statement runs inside :meth:`TenantData.transaction`, as the tenant environment's role, and
filters ``tenant_id``/``env_id`` with parameters bound from the index's own binding. The query is
parsed by :func:`tenantry.runtime.search.parse`, then handed, words only, to
``websearch_to_tsquery('simple', :q)`` as a bound parameter.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text

from tenantry.runtime.search import query as parsing
from tenantry.runtime.search import schemas
from tenantry.runtime.search.sql import SqlSearchIndex

_HEADLINE: Final = (
    f"StartSel={schemas.SNIPPET_START}, StopSel={schemas.SNIPPET_END}, MaxWords=24, MinWords=8"
)
_UPSERT = text(
    "INSERT INTO tenantry_search (tenant_id, env_id, doc_id, title, body, fields) "
    "VALUES (:t, :e, :d, :title, :body, CAST(:fields AS jsonb)) "
    "ON CONFLICT (tenant_id, env_id, doc_id) DO UPDATE SET title = excluded.title, "
    "body = excluded.body, fields = excluded.fields, updated_at = now()"
)
_DELETE = text("DELETE FROM tenantry_search WHERE tenant_id = :t AND env_id = :e AND doc_id = :d")
# The headline (the costly part) is computed for the returned page only.
_SEARCH = text(
    "SELECT hit.doc_id, hit.title, ts_headline('simple', hit.body, hit.query, :headline), "
    "hit.rank, hit.fields FROM ("
    " SELECT d.doc_id, d.title, d.body, d.fields, q.query, ts_rank(d.document, q.query) AS rank"
    " FROM tenantry_search AS d, websearch_to_tsquery('simple', :q) AS q(query)"
    " WHERE d.tenant_id = :t AND d.env_id = :e AND d.document @@ q.query"
    " ORDER BY rank DESC, d.doc_id LIMIT :limit OFFSET :offset"
    ") AS hit ORDER BY hit.rank DESC, hit.doc_id"
)


class PostgresSearchIndex(SqlSearchIndex):
    """The search index of the tenant environment that ``data`` is bound to."""

    dialect = "postgresql"
    upsert = _UPSERT
    remove = _DELETE
    find = _SEARCH

    def query_values(self, query: parsing.Query) -> dict[str, object]:
        return {"q": query.websearch(), "headline": _HEADLINE}

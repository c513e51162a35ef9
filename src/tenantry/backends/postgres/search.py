"""Search on PostgreSQL: full-text search in the tenant environment's own schema or database.

Table ``tenantry_search`` (tenant migrations ``t0002``, ``t0003``) holds each document with its
tenant and environment, the text-search configuration it is indexed with (``config``) and a
generated ``tsvector`` of it (title weighted above body) under a GIN index;
``tenantry_search_language`` records the configuration of the tenant environment's documents.
Every statement runs inside :meth:`TenantData.transaction`, as the tenant environment's role, and
filters ``tenant_id``/``env_id`` with parameters bound from the index's own binding. The query is
parsed by :func:`tenantry.runtime.search.parse`, then handed, words only, to
``websearch_to_tsquery`` with the recorded configuration, as a bound parameter.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.runtime.search import query as parsing
from tenantry.runtime.search import schemas
from tenantry.runtime.search.sql import SqlSearchIndex

_HEADLINE: Final = (
    f"StartSel={schemas.SNIPPET_START}, StopSel={schemas.SNIPPET_END}, MaxWords=24, MinWords=8"
)
# Statements take the configuration stored for the tenant environment, so a search always agrees
# with the index. A writer holds that row (KEY SHARE) until it commits, so a reindex (FOR UPDATE)
# waits for documents in flight, and documents written after it get the new configuration.
_UPSERT = text(
    "INSERT INTO tenantry_search (tenant_id, env_id, doc_id, title, body, fields, config) "
    "VALUES (:t, :e, :d, :title, :body, CAST(:fields AS jsonb), COALESCE(("
    " SELECT l.config FROM tenantry_search_language AS l"
    " WHERE l.tenant_id = CAST(:t AS varchar) AND l.env_id = CAST(:e AS varchar) FOR KEY SHARE"
    "), CAST('pg_catalog.simple' AS regconfig))) "
    "ON CONFLICT (tenant_id, env_id, doc_id) DO UPDATE SET title = excluded.title, "
    "body = excluded.body, fields = excluded.fields, config = excluded.config, "
    "updated_at = now()"
)
_DELETE = text("DELETE FROM tenantry_search WHERE tenant_id = :t AND env_id = :e AND doc_id = :d")
# The headline (the costly part) is computed for the returned page only.
_SEARCH = text(
    "SELECT hit.doc_id, hit.title, ts_headline(hit.config, hit.body, hit.query, :headline), "
    "hit.rank, hit.fields FROM ("
    " SELECT d.doc_id, d.title, d.body, d.fields, d.config, q.query,"
    " ts_rank(d.document, q.query) AS rank"
    " FROM tenantry_search AS d, websearch_to_tsquery(COALESCE(("
    "  SELECT l.config FROM tenantry_search_language AS l"
    "  WHERE l.tenant_id = :t AND l.env_id = :e"
    " ), CAST('pg_catalog.simple' AS regconfig)), :q) AS q(query)"
    " WHERE d.tenant_id = :t AND d.env_id = :e AND d.document @@ q.query"
    " ORDER BY rank DESC, d.doc_id LIMIT :limit OFFSET :offset"
    ") AS hit ORDER BY hit.rank DESC, hit.doc_id"
)
# Settling: :config is a qualified built-in configuration (pg_catalog.english), never input.
_BUILT_IN = text(
    "SELECT count(*) FROM pg_ts_config AS c JOIN pg_namespace AS n ON n.oid = c.cfgnamespace"
    " WHERE n.nspname = 'pg_catalog' AND c.cfgname = :name"
)
_AGREES = text(
    "SELECT config = CAST(:config AS regconfig) FROM tenantry_search_language"
    " WHERE tenant_id = :t AND env_id = :e"
)
_CLAIM = text(
    "INSERT INTO tenantry_search_language (tenant_id, env_id, config) "
    "VALUES (:t, :e, CAST('pg_catalog.simple' AS regconfig)) ON CONFLICT DO NOTHING"
)
_STALE = text(
    "SELECT config <> CAST(:config AS regconfig) FROM tenantry_search_language"
    " WHERE tenant_id = :t AND env_id = :e FOR UPDATE"
)
_RESTEM = text(  # each changed row recomputes its generated tsvector
    "UPDATE tenantry_search SET config = CAST(:config AS regconfig)"
    " WHERE tenant_id = :t AND env_id = :e AND config <> CAST(:config AS regconfig)"
)
_RECORD = text(
    "UPDATE tenantry_search_language SET config = CAST(:config AS regconfig)"
    " WHERE tenant_id = :t AND env_id = :e"
)


class PostgresSearchIndex(SqlSearchIndex):
    """The search index of the tenant environment that ``data`` is bound to."""

    dialect = "postgresql"
    upsert = _UPSERT
    remove = _DELETE
    find = _SEARCH

    def query_values(self, query: parsing.Query) -> dict[str, object]:
        return {"q": query.websearch(), "headline": _HEADLINE}

    async def settle(self, conn: AsyncConnection) -> bool:
        values = {**self._bound, "config": f"pg_catalog.{await _configuration(conn, self)}"}
        if (await conn.execute(_AGREES, values)).scalar() is True:  # the usual case: no lock
            return False
        await conn.execute(_CLAIM, values)
        if not (await conn.execute(_STALE, values)).scalar_one():  # another process did it
            return False
        await conn.execute(_RESTEM, values)
        await conn.execute(_RECORD, values)
        return True


async def _configuration(conn: AsyncConnection, index: PostgresSearchIndex) -> str:
    """The binding's language as a built-in configuration of this server; else ``simple``."""
    name = index.language
    if name is None or not (await conn.execute(_BUILT_IN, {"name": name})).scalar_one():
        return "simple"
    return name

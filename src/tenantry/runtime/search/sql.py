"""The search index on a tenant's relational space, whatever the SQL dialect.

Backends give the three statements and how a parsed query becomes parameters; everything else —
checking input, binding the tenant and environment, running inside the tenant's transaction — is
here, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sqlalchemy import Row, TextClause

from tenantry.runtime.data import TenantData
from tenantry.runtime.search import query as parsing
from tenantry.runtime.search import schemas
from tenantry.runtime.search.schemas import Hit
from tenantry.runtime.search.schemas import loaded_fields as loaded


class SqlSearchIndex:
    """A :class:`~tenantry.runtime.search.SearchIndex` over ``tenantry_search`` in ``data``.

    Statements use ``:t`` and ``:e`` for the tenant and environment (bound from ``data``, never
    from input), ``:d``, ``:title``, ``:body``, ``:fields`` for a document, and ``:limit``,
    ``:offset`` plus the backend's own query parameters for a search, which must return rows of
    ``(doc_id, title, snippet, rank, fields)``.
    """

    dialect: ClassVar[str]
    upsert: ClassVar[TextClause]
    remove: ClassVar[TextClause]
    find: ClassVar[TextClause]

    def __init__(self, data: TenantData) -> None:
        if data.dialect != self.dialect:
            raise TypeError(f"{type(self).__name__} needs {self.dialect} tenant data")
        self._data = data
        self._bound = {"t": data.tenant_id, "e": data.env_id}

    @property
    def tenant_id(self) -> str:
        return self._data.tenant_id

    @property
    def env_id(self) -> str:
        return self._data.env_id

    def query_values(self, query: parsing.Query) -> dict[str, object]:
        raise NotImplementedError

    async def index(
        self, doc_id: str, *, title: str, body: str, fields: Mapping[str, Any] | None = None
    ) -> None:
        doc = schemas.document(doc_id, title=title, body=body, fields=fields)
        values = {"d": doc.doc_id, "title": doc.title, "body": doc.body, "fields": doc.fields_json}
        async with self._data.transaction() as conn:
            await conn.execute(self.upsert, {**values, **self._bound})

    async def delete(self, doc_id: str) -> bool:
        values = {"d": schemas.doc_id(doc_id), **self._bound}
        async with self._data.transaction() as conn:
            return (await conn.execute(self.remove, values)).rowcount > 0

    async def search(self, query: str, *, limit: int = 10, offset: int = 0) -> list[Hit]:
        parsed = parsing.parse(schemas.query_text(query))
        paging = schemas.page(limit, offset)
        if parsed.empty:
            return []
        values = {
            **self.query_values(parsed),
            "limit": paging.limit,
            "offset": paging.offset,
            **self._bound,
        }
        async with self._data.transaction() as conn:
            rows = (await conn.execute(self.find, values)).all()
        return _hits(rows)


def _hits(rows: Sequence[Row[Any]]) -> list[Hit]:
    found = []
    for row in rows:
        doc, title, snippet, rank, fields = tuple(row)
        found.append(Hit(str(doc), str(title), str(snippet), float(rank), loaded(fields)))
    return found

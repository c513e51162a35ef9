"""The search index on a tenant's relational space, whatever the SQL dialect.

Backends give the statements, how a parsed query becomes parameters and how the stored stemming
is brought to the binding's language; everything else — checking input, binding the tenant and
environment, running inside the tenant's transaction, when to settle the stemming — is here, once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

from sqlalchemy import Row, TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.runtime.data import TenantData
from tenantry.runtime.search import query as parsing
from tenantry.runtime.search import schemas
from tenantry.runtime.search.language import stemming
from tenantry.runtime.search.schemas import Document, Hit
from tenantry.runtime.search.schemas import loaded_fields as loaded

_CLEAR: Final = text("DELETE FROM tenantry_search WHERE tenant_id = :t AND env_id = :e")
_LISTED = text(
    "SELECT doc_id, title, body, fields FROM tenantry_search WHERE tenant_id = :t AND "
    "env_id = :e AND doc_id > :after ORDER BY doc_id LIMIT :limit"
)
RECHECK: Final = 30.0  # seconds a binding trusts that the stored stemming is its language's


class SqlSearchIndex:
    """A :class:`~tenantry.runtime.search.SearchIndex` over ``tenantry_search`` in ``data``.

    Statements use ``:t`` and ``:e`` for the tenant and environment (bound from ``data``, never
    from input), ``:d``, ``:title``, ``:body``, ``:fields`` for a document, and ``:limit``,
    ``:offset`` plus the backend's own query parameters for a search, which must return rows of
    ``(doc_id, title, snippet, rank, fields)``.

    The binding's ``language`` (the tenant's ``settings.language``) is what documents should be
    stemmed by. Statements use the stemming stored in the tenant environment, so results always
    agree with the index; before its first use, and again every ``RECHECK`` seconds, the binding
    has the backend bring the stored stemming to its language (:meth:`settle`: reindexing in one
    transaction when they differ, a no-op when they agree).
    """

    dialect: ClassVar[str]
    upsert: ClassVar[TextClause]
    remove: ClassVar[TextClause]
    find: ClassVar[TextClause]

    def __init__(self, data: TenantData, *, language: str | None = None) -> None:
        if data.dialect != self.dialect:
            raise TypeError(f"{type(self).__name__} needs {self.dialect} tenant data")
        self._data = data
        self._bound = {"t": data.tenant_id, "e": data.env_id}
        self.language = stemming(language)  # a stemmer's name (``english``), or None: none
        self._settled_at: float | None = None
        self._settling = asyncio.Lock()

    @property
    def tenant_id(self) -> str:
        return self._data.tenant_id

    @property
    def env_id(self) -> str:
        return self._data.env_id

    def query_values(self, query: parsing.Query) -> dict[str, object]:
        raise NotImplementedError

    async def settle(self, conn: AsyncConnection) -> bool:
        """Bring the stored stemming to :attr:`language` (reindexing the tenant environment's
        documents); ``True`` when it changed. Runs in its own tenant transaction, so it is all or
        nothing, and a second run finds nothing to do."""
        raise NotImplementedError

    async def reindex(self) -> bool:
        """Settle the stored stemming now; ``True`` when it changed."""
        async with self._data.transaction() as conn:
            changed = await self.settle(conn)
        self._settled_at = time.monotonic()
        return changed

    async def _settled(self) -> None:
        if self._fresh():
            return
        async with self._settling:  # concurrent first uses wait for one settle, not run many
            if not self._fresh():
                await self.reindex()

    def _fresh(self) -> bool:
        return self._settled_at is not None and time.monotonic() - self._settled_at < RECHECK

    async def index(
        self, doc_id: str, *, title: str, body: str, fields: Mapping[str, Any] | None = None
    ) -> None:
        doc = schemas.document(doc_id, title=title, body=body, fields=fields)
        values = {"d": doc.doc_id, "title": doc.title, "body": doc.body, "fields": doc.fields_json}
        await self._settled()
        async with self._data.transaction() as conn:
            await conn.execute(self.upsert, {**values, **self._bound})

    async def delete(self, doc_id: str) -> bool:
        values = {"d": schemas.doc_id(doc_id), **self._bound}
        await self._settled()
        async with self._data.transaction() as conn:
            return (await conn.execute(self.remove, values)).rowcount > 0

    async def clear(self) -> int:
        """Remove every document of the tenant environment (the triggers drop their index rows;
        no settle: nothing is indexed again)."""
        async with self._data.transaction() as conn:
            return (await conn.execute(_CLEAR, self._bound)).rowcount

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
        await self._settled()
        async with self._data.transaction() as conn:
            rows = (await conn.execute(self.find, values)).all()
        return _hits(rows)

    async def documents(self, *, after: str | None = None, limit: int = 100) -> list[Document]:
        paging = schemas.page(limit, 0)
        values = {"after": "" if after is None else after, "limit": paging.limit, **self._bound}
        async with self._data.transaction() as conn:
            rows = (await conn.execute(_LISTED, values)).all()
        return [
            Document(str(d), str(title), str(body), json.dumps(loaded(fields)))
            for d, title, body, fields in rows
        ]


def _hits(rows: Sequence[Row[Any]]) -> list[Hit]:
    found = []
    for row in rows:
        doc, title, snippet, rank, fields = tuple(row)
        found.append(Hit(str(doc), str(title), str(snippet), float(rank), loaded(fields)))
    return found

"""The search port (DESIGN.md section 4: SQLite FTS5 embedded, PostgreSQL full-text search real).

An index is bound at construction to one tenant environment. Documents are stored with that
tenant and environment; every query filters on them with bound parameters taken from the binding,
never from input, and runs in the tenant's own relational space. The user's query text is a bound
parameter read by a safe parser (web-search syntax: words are ANDed, ``"a phrase"``, ``or``,
``-word``), so no input can widen a query or break it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from tenantry.runtime.search.schemas import Document, Hit


class SearchIndex(Protocol):
    @property
    def tenant_id(self) -> str: ...

    @property
    def env_id(self) -> str: ...

    async def index(
        self, doc_id: str, *, title: str, body: str, fields: Mapping[str, Any] | None = None
    ) -> None:
        """Add the document, or replace the one with the same id."""
        ...

    async def delete(self, doc_id: str) -> bool:
        """Remove the document; ``False`` when this tenant environment has none by that id."""
        ...

    async def clear(self) -> int:
        """Remove every document of this tenant environment (its purge); the count."""
        ...

    async def search(self, query: str, *, limit: int = 10, offset: int = 0) -> list[Hit]:
        """Best matches first (ties by doc id); an empty list when nothing matches."""
        ...

    async def documents(self, *, after: str | None = None, limit: int = 100) -> list[Document]:
        """Stored documents by id, after ``after`` (for lifecycle jobs: an archive's export)."""
        ...

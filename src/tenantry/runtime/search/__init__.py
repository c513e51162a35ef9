"""Tenant-scoped full-text search: a :class:`SearchIndex` bound to one tenant environment."""

from __future__ import annotations

from tenantry.runtime.search.index import SearchIndex
from tenantry.runtime.search.query import Query, parse
from tenantry.runtime.search.schemas import Document, Hit, Page

__all__ = ["Document", "Hit", "Page", "Query", "SearchIndex", "parse"]

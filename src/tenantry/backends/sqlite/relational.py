"""Tenant data on the embedded default: one SQLite file per tenant environment."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from tenantry.core import files, names
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.controller.resources import Kind, Resource
from tenantry.tenancy.isolation.placement import Placement, Relational


class SqliteRelationalProvisioner:
    kind = Kind.RELATIONAL

    def __init__(self, root: Path) -> None:
        self._root = root

    def wanted(self, placement: Placement) -> Resource:
        if placement.relational.mode is Relational.EXTERNAL:
            raise InvalidInput(
                "st-byoc needs a customer database; the embedded default has none",
                code="placement.unsupported",
            )
        name = names.sqlite_path(placement.tenant_id, placement.env_id)
        return Resource(Kind.RELATIONAL, name, placement.tenant_id, placement.env_id, "sqlite")

    def _path(self, resource: Resource) -> Path:
        return self._root / resource.name

    async def exists(self, resource: Resource) -> bool:
        return self._path(resource).is_file()

    async def ensure(self, resource: Resource) -> None:
        path = self._path(resource)
        files.private_file(path)  # a tenant's data: owner-only
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")

    async def retire(self, resource: Resource) -> None:
        path = self._path(resource)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    async def close(self) -> None:
        """Nothing held between calls."""

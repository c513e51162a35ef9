"""Real storage quotas for the store suites: a control database with tenants on small storage
quotas, and reading the counters back.

Every suite that counts stores against a quota uses :data:`STORAGE` (or its own), registers its
tenants with :func:`register`, and compares :func:`used` with what the backend really holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from tenantry.tenancy.limits.catalog import LimitsCatalog
from tenantry.tenancy.limits.quotas import Quotas
from tenantry.tenancy.limits.schemas import LimitsSpec, QuotaSpec, Resource, StorageSpec
from tenantry.tenancy.manifests.schemas import Bundle, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.service import RegistryService

STORAGE = StorageSpec(
    sessions=QuotaSpec(bytes=4000, count=3),
    objects=QuotaSpec(bytes=2000, count=3),
    state=QuotaSpec(bytes=300, count=3),
    secrets=QuotaSpec(bytes=1000, count=3),
)
ENVELOPE = 125  # what sealing adds to a value under a keyring's 32-character key id


async def register(
    sessions: SessionFactory, tenants: Iterable[str], storage: StorageSpec = STORAGE
) -> None:
    """Store ``tenants`` (again) with ``storage`` as their storage limits."""
    limits = LimitsSpec(storage=storage)
    spec = {tenant: TenantSpec(name=tenant, limits=limits) for tenant in tenants}
    await RegistryService(sessions).apply(Bundle(tenants=spec))


@asynccontextmanager
async def control(
    folder: Path, tenants: Iterable[str], storage: StorageSpec = STORAGE
) -> AsyncIterator[Quotas]:
    """Quotas on a new SQLite control database in ``folder`` holding ``tenants``."""
    engine = database.create_engine(_database_url(folder))
    try:
        await database.migrate(engine)
        sessions = database.session_factory(engine)
        await register(sessions, tenants, storage)
        yield Quotas(sessions, LimitsCatalog(sessions))
    finally:
        await engine.dispose()


def _database_url(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'control.sqlite3'}"


async def used(quotas: Quotas, tenant: str, resource: Resource) -> tuple[int, int]:
    """``(bytes, items)`` counted for one tenant and resource."""
    found = {usage.resource: usage for usage in await quotas.usage(tenant)}
    return found[resource].bytes, found[resource].items

"""The only place concrete backends are chosen from settings (DESIGN.md section 7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.core.clock import Clock, utc_now
from tenantry.core.settings import Settings
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.registry.service import RegistryService


@dataclass(frozen=True, slots=True)
class Services:
    """Everything adapters (CLI, API, worker) call into, wired for one process."""

    settings: Settings
    engine: AsyncEngine
    registry: RegistryService


@asynccontextmanager
async def services(
    settings: Settings | None = None, *, clock: Clock = utc_now, migrate: bool = True
) -> AsyncIterator[Services]:
    """Open the control database (migrated to the newest schema) and build the services."""
    settings = settings or Settings()
    engine = database.create_engine(settings.control_database_url())
    try:
        if migrate:
            async with translated():
                await database.migrate(engine)
        sessions = database.session_factory(engine)
        yield Services(settings, engine, RegistryService(sessions, clock=clock))
    finally:
        await engine.dispose()

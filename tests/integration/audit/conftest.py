"""The audit chain over a real control database, SQLite and PostgreSQL, and tampering with it
through a direct connection as the database's owner (what the application role cannot do)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome
from tenantry.tenancy.audit.service import AuditService
from tests.integration.audit.bypass import tamper

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Audit:
    services: Services
    clock: Clock
    url: str
    ids: list[int] = field(default_factory=list)

    @property
    def service(self) -> AuditService:
        found = self.services.audit.service
        assert found is not None
        return found

    async def append(self, tenant: str | None, count: int = 1, **fields: Any) -> None:
        for n in range(count):
            entry = AuditEntry("alice", f"test.write.{n}", tenant, Outcome.SUCCEEDED, **fields)
            await self.services.audit.record([entry])
            self.clock.tick()

    def sql(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``statement`` directly (``?`` placeholders), as a tamperer holding the file or
        the superuser would: past the append-only triggers, which only the chain then catches."""
        return tamper(self.url, statement, params)


@pytest.fixture
async def audit(settings: Settings) -> AsyncIterator[Audit]:
    clock = Clock()
    async with services(settings, clock=clock) as built:
        yield Audit(built, clock, settings.control_database_url())

"""The audit chain over a real control database, SQLite and PostgreSQL, and tampering with it
through a direct connection as the database's owner (what the application role cannot do)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome, Verdict
from tenantry.tenancy.audit.service import AuditService
from tenantry.tenancy.audit.splitting import Split
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
    folder: Path
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

    def verify_export(self, lines: Sequence[str]) -> Verdict:
        """Verify an export offline: from its lines, or (splitting) as a file, as the CLI does."""
        if self.service.split.threshold > 0:
            return self.service.verify_export(lines)
        path = self.folder / "export.jsonl"
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        return self.service.verify_file(path)

    def sql(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``statement`` directly (``?`` placeholders), as a tamperer holding the file or
        the superuser would: past the append-only triggers, which only the chain then catches."""
        return tamper(self.url, statement, params)


# Every test runs twice: verifying link by link, and split into ranges of two links each (in
# this process, stitched as across worker processes), so that each tampering case is found, and
# named the same, both ways.
SPLITS = {"linked": Split(threshold=10**9), "ranges": Split(processes=1, threshold=0, least=2)}


@pytest.fixture(params=sorted(SPLITS))
async def audit(
    settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Audit]:
    clock = Clock()
    async with services(settings, clock=clock) as built:
        found = Audit(built, clock, settings.control_database_url(), tmp_path)
        found.service.split = SPLITS[request.param]
        yield found

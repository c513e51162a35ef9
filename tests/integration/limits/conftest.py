"""Limits on the control database (SQLite and the real PostgreSQL): two tenants on plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenantry.bootstrap import Services
from tenantry.tenancy.limits.catalog import LimitsCatalog
from tenantry.tenancy.limits.meters import Meters
from tenantry.tenancy.limits.quotas import Quotas
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.registry.database import SessionFactory, session_factory

BUNDLE = """\
plans:
  small:
    storage:
      objects: {bytes: 1000, count: 37}
      state: {bytes: 100, count: 1000, item_bytes: 60}
    ai_tokens: {cap: 205, period: month}
tenants:
  acme:
    name: Acme
    plan: small
  beta:
    name: Beta
    plan: small
    limits:
      storage:
        objects: {count: 3}
  gamma:
    name: Gamma
"""
START = datetime(2030, 1, 15, 12, 30, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Control:
    services: Services
    sessions: SessionFactory
    catalog: LimitsCatalog
    quotas: Quotas
    meters: Meters
    clock: FixedClock


def write_bundle(folder: Path, text: str = BUNDLE) -> Path:
    path = folder / "bundle.yaml"
    path.write_text(text)
    return path


@pytest.fixture
async def control(wired: Services, tmp_path: Path) -> Control:
    await wired.registry.apply(loader.load([write_bundle(tmp_path)]))
    sessions = session_factory(wired.engine)
    catalog, clock = LimitsCatalog(sessions), FixedClock()
    return Control(
        wired,
        sessions,
        catalog,
        Quotas(sessions, catalog, clock=clock),
        Meters(sessions, catalog, clock=clock),
        clock,
    )

"""Secret stores on the control database (SQLite and PostgreSQL), with real keyrings.

Three registered tenants (one of them named ``platform``, to show the platform's key is not
its key) and a ticking clock, so every write has its own time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.backends.keys.keyring import Keyring
from tenantry.runtime.secrets import PlatformSecrets, SecretStore
from tenantry.tenancy.manifests.schemas import Bundle, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.models import SecretVersionRow
from tenantry.tenancy.registry.service import RegistryService
from tenantry.tenancy.secrets.repository import SqlSecretRecords

TENANTS = ("acme", "globex", "platform")
START = datetime(2030, 1, 1, tzinfo=UTC)


class Ticking:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Kit:
    engine: AsyncEngine
    records: SqlSecretRecords
    keyring: Keyring  # the tenants' keyring
    platform_keyring: Keyring  # the platform's own keyring (another root)
    clock: Ticking

    def store(self, tenant: str, **options: Any) -> SecretStore:
        return SecretStore(
            tenant, records=self.records, keys=self.keyring, clock=self.clock, **options
        )

    def platform(self) -> PlatformSecrets:
        secrets = PlatformSecrets(
            records=self.records, keys=self.platform_keyring, clock=self.clock
        )
        secrets.ensure_key()
        return secrets

    async def rows(self) -> list[dict[str, Any]]:
        """Every stored version, as plain values, in primary-key order."""
        query = select(SecretVersionRow).order_by(SecretVersionRow.path, SecretVersionRow.version)
        async with database.session_factory(self.engine)() as session:
            found = (await session.scalars(query)).all()
        columns = SecretVersionRow.__table__.columns
        return [{c.key: getattr(row, c.key) for c in columns} for row in found]

    async def count(self) -> int:
        query = select(func.count()).select_from(SecretVersionRow)
        async with database.session_factory(self.engine)() as session:
            return int(await session.scalar(query) or 0)

    async def sealed(self, path: str, version: int) -> bytes:
        query = select(SecretVersionRow.sealed).where(
            SecretVersionRow.path == path, SecretVersionRow.version == version
        )
        async with database.session_factory(self.engine)() as session:
            found = await session.scalar(query)
        assert found is not None
        return found

    async def overwrite(self, path: str, version: int, sealed: bytes) -> None:
        """Write raw bytes into a stored version, as an attacker with database access would."""
        statement = (
            update(SecretVersionRow)
            .where(SecretVersionRow.path == path, SecretVersionRow.version == version)
            .values(sealed=sealed)
        )
        async with database.session_factory(self.engine)() as session, session.begin():
            await session.execute(statement)


@pytest.fixture
async def kit(database_url: str, tmp_path: Path) -> AsyncIterator[Kit]:
    engine = database.create_engine(database_url)
    try:
        await database.migrate(engine)
        sessions = database.session_factory(engine)
        bundle = Bundle(tenants={t: TenantSpec(name=t.title()) for t in TENANTS})
        await RegistryService(sessions).apply(bundle)
        keyring = Keyring(tmp_path / "data")
        for tenant in TENANTS:
            keyring.create(tenant)
        platform_keyring = Keyring(tmp_path / "data" / "platform")
        yield Kit(engine, SqlSecretRecords(sessions), keyring, platform_keyring, Ticking())
    finally:
        await engine.dispose()

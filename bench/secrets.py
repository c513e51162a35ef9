"""Secret put + get through :class:`SecretStore` vs the same bytes written and read unsealed.

Ours: a 1 KiB value put (serialised per path, sealed under the tenant's key, a new version)
and read back (latest version, opened) through the store. Anchor: the same table and engine,
one plain INSERT of the unsealed bytes and one SELECT by primary key, each its own transaction.
The difference is the price of envelope encryption, the version lock and the store's checks.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import insert, select

from bench.harness import Result, median_time
from tenantry.backends.keys.keyring import Keyring
from tenantry.runtime.secrets import SecretStore
from tenantry.tenancy.manifests.schemas import Bundle, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.models import SecretVersionRow
from tenantry.tenancy.registry.service import RegistryService
from tenantry.tenancy.secrets.repository import SqlSecretRecords

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
OPERATIONS = 100
VALUE = b"k" * 1024


def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as folder:
        results = [
            _measure(f"sqlite:///{Path(folder) / 'control.sqlite3'}", Path(folder), "SQLite")
        ]
        name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
            results.append(_measure(url, Path(folder), "PostgreSQL"))
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                drop = sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
                admin.execute(drop)
    return results


def _measure(url: str, folder: Path, label: str) -> Result:
    loop = asyncio.new_event_loop()
    engine = database.create_engine(url)
    try:
        loop.run_until_complete(database.migrate(engine))
        sessions = database.session_factory(engine)
        loop.run_until_complete(
            RegistryService(sessions).apply(Bundle(tenants={"acme": TenantSpec(name="Acme")}))
        )
        keyring = Keyring(folder / uuid.uuid4().hex)
        keyring.create("acme")
        store = SecretStore("acme", records=SqlSecretRecords(sessions), keys=keyring)

        async def ours() -> None:
            for _ in range(OPERATIONS):
                await store.put("token", VALUE)
                assert (await store.get("token")).value.reveal() == VALUE

        counter = iter(range(1, 1_000_000))

        async def anchor() -> None:
            for _ in range(OPERATIONS):
                version = next(counter)
                async with sessions() as session, session.begin():
                    await session.execute(insert(SecretVersionRow).values(**_row(version)))
                async with sessions() as session:
                    found = await session.scalar(
                        select(SecretVersionRow.sealed).where(
                            SecretVersionRow.path == "acme/raw",
                            SecretVersionRow.version == version,
                        )
                    )
                assert found == VALUE

        mine = median_time(lambda: loop.run_until_complete(ours()), runs=5)
        theirs = median_time(lambda: loop.run_until_complete(anchor()), runs=5)
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()
    return Result(
        f"secret put+get x{OPERATIONS}, 1 KiB ({label})",
        mine,
        theirs,
        "plain INSERT + SELECT, unsealed",
    )


def _row(version: int) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "path": "acme/raw",
        "version": version,
        "tenant_id": "acme",
        "team_id": None,
        "name": "raw",
        "kid": "none",
        "size": len(VALUE),
        "sealed": VALUE,
        "created_at": now,
        "updated_at": now,
    }

"""Controller benchmarks against django-tenants on the same PostgreSQL (issue 3).

- provisioning: per-tenant time to bring mt-standard tenants to Ready (schema + role + tenant
  table on PostgreSQL, JetStream subjects + consumer, object prefix, key), vs django-tenants
  creating a tenant (schema + its migrations, one app table);
- no-op fleet reconcile and no-op migrate at 10,000 tenants vs django-tenants
  ``migrate_schemas`` with nothing to do at 1,000;
- a real migration (add a column and an index) across 1,000 tenant schemas vs django-tenants'
  multiprocessing executor;
- the benchmark process's peak memory with the 10,000-tenant registry loaded.
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from bench.anchor import driver
from bench.harness import Result
from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.controller.resources import Resource
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.manifests.schemas import Bundle, Profile, TenantSpec
from tenantry.tenancy.schema.runner import TREE, Runner
from tenantry.tenancy.schema.service import Migrator

PROVISION = 100
FLEET = 10_000
MIGRATE = 1_000
NEXT_REVISION = '''"""bench: add a column and an index"""
import sqlalchemy as sa
from alembic import op

revision = "bench2"
down_revision = "t0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenantry_identity", sa.Column("priority", sa.Integer(), server_default="0"))
    op.create_index("tenantry_identity_priority", "tenantry_identity", ["priority"])
'''


def run() -> list[Result]:
    driver.setup()
    anchor_db = f"bench_dt_{uuid.uuid4().hex[:6]}"
    driver.fresh_database(anchor_db)
    try:
        created = driver.run(anchor_db, "create", str(MIGRATE))
        noop = driver.run(anchor_db, "noop")["seconds"]
        real = driver.run(anchor_db, "real")["seconds"]
    finally:
        driver.drop_database(anchor_db)
    ours = asyncio.run(_ours())
    return [
        Result(
            f"provision mt tenant, p50 (of {PROVISION})",
            ours["p50"],
            created["p50"],
            "django-tenants create, p50",
        ),
        Result(
            f"provision mt tenant, p99 (of {PROVISION})",
            ours["p99"],
            created["p99"],
            "django-tenants create, p99",
        ),
        Result(
            f"no-op reconcile --all, {FLEET} tenants",
            ours["noop_reconcile"],
            noop,
            f"django-tenants no-op migrate, {MIGRATE}",
        ),
        Result(
            f"no-op migrate, {FLEET} tenants",
            ours["noop_migrate"],
            noop,
            f"django-tenants no-op migrate, {MIGRATE}",
        ),
        Result(
            f"add column + index, {MIGRATE} schemas",
            ours["real"],
            real,
            "django-tenants migrate_schemas (multiprocessing)",
        ),
        Result(
            f"peak RSS of the process, {FLEET} tenants",
            ours["rss_mib"],
            ours["rss_mib"],
            "(itself: no anchor)",
            unit="MiB",
        ),
    ]


async def _ours() -> dict[str, float]:
    name = f"bench_tn_{uuid.uuid4().hex[:6]}"
    driver.fresh_database(name)
    folder = Path(tempfile.mkdtemp(prefix="tenantry-bench-"))
    url = driver.ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    settings = Settings(database_url=url, data_dir=folder, nats_url="nats://127.0.0.1:4222")
    try:
        async with services(settings) as wired:
            figures = await _provision(wired)
            figures |= await _noops(wired)
            figures["real"] = await _real_migration(wired, folder)
            figures["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            await _cleanup(wired)
        return figures
    finally:
        driver.drop_database(name)
        shutil.rmtree(folder, ignore_errors=True)


async def _provision(wired: Services) -> dict[str, float]:
    specs = {f"p{i}": TenantSpec(name=f"Tenant {i}") for i in range(PROVISION)}
    await wired.registry.apply(Bundle(tenants=specs))
    times = []
    for tenant_id in specs:
        start = time.perf_counter()
        outcome = await wired.controller.reconcile(tenant_id)
        times.append(time.perf_counter() - start)
        assert outcome.result == "ready", outcome.message
    times.sort()
    return {"p50": statistics.median(times), "p99": times[int(len(times) * 0.99) - 1]}


async def _noops(wired: Services) -> dict[str, float]:
    """A 10,000-tenant registry in sync: observed generations and revisions at head."""
    specs = {f"f{i}": TenantSpec(name=f"Fleet {i}") for i in range(FLEET)}
    await wired.registry.apply(Bundle(tenants=specs))
    async with wired.engine.begin() as db:
        await db.execute(text("UPDATE tenants SET observed_generation = generation"))
        await db.execute(
            text(
                "INSERT INTO tenant_schema_revisions"
                " (tenant_id, env_id, target, revision, updated_at)"
                ' SELECT id, \'prod\', CAST(\'{"mode": "shared-schema", "name": "x", '
                '"role": "x"}\' AS jsonb), :head, now() FROM tenants '
                "ON CONFLICT DO NOTHING"
            ),
            {"head": wired.migrator.head},
        )
    start = time.perf_counter()
    assert await wired.controller.due() == []
    reconcile = time.perf_counter() - start
    start = time.perf_counter()
    assert await wired.migrator.pending() == []
    return {"noop_reconcile": reconcile, "noop_migrate": time.perf_counter() - start}


async def _real_migration(wired: Services, folder: Path) -> float:
    """1,000 tenant schemas at t0001, then time the upgrade to a revision adding a column."""
    tree = folder / "tree"
    shutil.copytree(TREE, tree)
    (tree / "versions" / "0002_bench.py").write_text(NEXT_REVISION)
    specs = {f"m{i}": TenantSpec(name=f"Migrated {i}") for i in range(MIGRATE)}
    await wired.registry.apply(Bundle(tenants=specs))
    placements = [place(Profile.MT_STANDARD, tenant, "prod") for tenant in specs]
    async with wired.engine.begin() as db:
        for placement in placements:
            schema = sql_quote(placement.relational.name)
            await db.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    postgres = wired.settings.tenant_postgres_url()
    before = Migrator(wired.engine, postgres_url=postgres, data_root=folder)
    after = Migrator(wired.engine, postgres_url=postgres, data_root=folder, runner=Runner(tree))
    try:
        await before.upgrade_placements(placements, concurrency=4)
        start = time.perf_counter()
        results = await after.upgrade_placements(placements, concurrency=4)
        elapsed = time.perf_counter() - start
    finally:
        await before.close()
        await after.close()
    assert all(r.error is None for r in results), [r for r in results if r.error][:3]
    return elapsed


def sql_quote(name: str) -> str:
    """Quote a builder-made schema name (grammar-checked, so it holds no quote)."""
    return '"' + name + '"'


async def _cleanup(wired: Services) -> None:
    """Remove what provisioning made outside PostgreSQL's bench database (roles, streams)."""
    for tenant_id in (f"p{i}" for i in range(PROVISION)):
        detail = await wired.registry.get(tenant_id)
        for provisioner in wired.controller.provisioners:
            for item in detail.resources:
                if item["kind"] == provisioner.kind.value:
                    await provisioner.retire(Resource.from_dict(item))

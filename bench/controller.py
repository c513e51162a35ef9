"""Controller benchmarks against django-tenants on the same PostgreSQL (issue 3).

- provisioning: the time to bring 100 and then 1,000 more mt-standard tenants to Ready (schema
  + role + tenant tables on PostgreSQL, JetStream subjects + consumer, object prefix, key),
  per tenant, with ``reconcile --all``'s bounded pool; and one reconcile's latency, p50/p99,
  one tenant at a time. The anchor is django-tenants creating the same tenants one by one
  (schema + its migrations, one app table), which is how it provisions;
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
from tenantry.tenancy.schema.runner import TREE, Runner, head
from tenantry.tenancy.schema.service import Migrator

PROVISION = (100, 1_000)
CONCURRENCY = 8  # reconcile --all's pool
LATENCY = 100
FLEET = 10_000
MIGRATE = 1_000
NEXT_REVISION = '''"""bench: add a column and an index"""
import sqlalchemy as sa
from alembic import op

revision = "bench2"
down_revision = "{down}"
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
        created = driver.run(anchor_db, "create", str(MIGRATE))["times"]
        noop = driver.run(anchor_db, "noop")["seconds"]
        real = driver.run(anchor_db, "real")["seconds"]
    finally:
        driver.drop_database(anchor_db)
    ours = asyncio.run(_ours())
    return [
        *_provisioning(ours, created),
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


def _provisioning(ours: dict[str, float], created: list[float]) -> list[Result]:
    rows = [
        Result(
            f"provision {n} mt tenants, per tenant",
            ours[f"fleet_{n}"],
            statistics.fmean(created[:n]),
            f"django-tenants create, mean of {n}",
        )
        for n in PROVISION
    ]
    first = sorted(created[:LATENCY])
    return [
        *rows,
        Result(
            f"one reconcile, p50 (of {LATENCY})",
            ours["p50"],
            statistics.median(first),
            "django-tenants create, p50",
        ),
        Result(
            f"one reconcile, p99 (of {LATENCY})",
            ours["p99"],
            _p99(first),
            "django-tenants create, p99",
        ),
    ]


def _p99(ordered: list[float]) -> float:
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


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
    """Fleets of 100 and 1,000 new tenants through the pool, then 100 one at a time."""
    figures: dict[str, float] = {}
    for n in PROVISION:
        specs = _specs(f"p{n}x", n)
        await wired.registry.apply(Bundle(tenants=specs))
        start = time.perf_counter()
        outcomes = await wired.controller.reconcile_many(list(specs), concurrency=CONCURRENCY)
        figures[f"fleet_{n}"] = (time.perf_counter() - start) / n
        assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes][:3]
    times = []
    for tenant_id in _specs("l", LATENCY):
        await wired.registry.apply(Bundle(tenants={tenant_id: TenantSpec(name=tenant_id)}))
        start = time.perf_counter()
        outcome = await wired.controller.reconcile(tenant_id)
        times.append(time.perf_counter() - start)
        assert outcome.result == "ready", outcome.message
    times.sort()
    return figures | {"p50": statistics.median(times), "p99": _p99(times)}


def _specs(prefix: str, count: int) -> dict[str, TenantSpec]:
    return {f"{prefix}{i}": TenantSpec(name=f"Tenant {prefix}{i}") for i in range(count)}


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
    (tree / "versions" / "9999_bench.py").write_text(NEXT_REVISION.format(down=head(TREE)))
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
    provisioners = {p.kind.value: p for p in wired.controller.provisioners}
    provisioned = [*(f"p{n}x{i}" for n in PROVISION for i in range(n)), *_specs("l", LATENCY)]
    for tenant_id in provisioned:
        for item in (await wired.registry.get(tenant_id)).resources:
            await provisioners[item["kind"]].retire(Resource.from_dict(item))

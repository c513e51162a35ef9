"""Tenant schema migrations through the controller and `tenantry migrate`."""

from __future__ import annotations

from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tenantry.bootstrap import Services
from tenantry.cli.main import app
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Profile
from tenantry.tenancy.schema.runner import head
from tenantry.tenancy.schema.targets import Target
from tests.conftest import EXAMPLE_BUNDLE


async def provisioned(wired: Services) -> None:
    await wired.registry.apply(loader.load([EXAMPLE_BUNDLE]))
    for tenant in await wired.controller.due():
        assert (await wired.controller.reconcile(tenant)).result == "ready"


def identity(wired: Services, tenant: str, env: str) -> list[tuple[object, ...]]:
    (target,) = [t for t in _targets(wired) if (t.tenant_id, t.env_id) == (tenant, env)]
    engine = create_engine(target.url)
    try:
        with engine.connect() as db:
            table = f'"{target.schema}".tenantry_identity' if target.schema else "tenantry_identity"
            return [tuple(row) for row in db.execute(text(f"SELECT * FROM {table}"))]  # noqa: S608
    finally:
        engine.dispose()


def _targets(wired: Services) -> list[Target]:
    profiles = {"acme": Profile.MT_STANDARD, "bigcorp": Profile.ST_DEDICATED}
    envs = {"acme": ["prod", "staging"], "bigcorp": ["prod", "dev"]}
    return wired.migrator.targets([place(profiles[t], t, e) for t in profiles for e in envs[t]])


async def test_provisioning_migrates_each_tenant_environment(wired: Services) -> None:
    await provisioned(wired)
    assert await wired.migrator.pending() == []
    assert identity(wired, "acme", "prod") == [("acme", "prod")]
    assert identity(wired, "bigcorp", "dev") == [("bigcorp", "dev")]


async def test_failures_are_per_tenant_and_a_rerun_resumes(wired: Services) -> None:
    await provisioned(wired)
    url = wired.settings.tenant_postgres_url()
    if url is None:
        broken = wired.settings.data_dir.resolve() / "tenants" / "acme" / "prod.sqlite3"
        broken.unlink()
        broken.mkdir()  # a directory where the database file should be
    else:
        with psycopg.connect(url) as db:
            db.execute('DROP SCHEMA "t_acme__prod" CASCADE')
    await _mark_behind(wired)
    results = {
        (r.tenant_id, r.env_id): r
        for r in await wired.migrator.upgrade(await wired.migrator.pending())
    }
    assert results[("acme", "prod")].error
    assert all(r.error is None for key, r in results.items() if key != ("acme", "prod"))
    assert [(t.tenant_id, t.env_id) for t in await wired.migrator.pending()] == [("acme", "prod")]
    if url is None:
        broken.rmdir()
    assert (await wired.controller.reconcile("acme")).result == "ready"
    assert await wired.migrator.pending() == []


async def _mark_behind(wired: Services) -> None:
    async with wired.engine.begin() as db:
        await db.execute(text("UPDATE tenant_schema_revisions SET revision = NULL"))


def test_migrate_command(database_url: str, tmp_path: Path) -> None:
    cli = CliRunner()
    base = ["--database-url", database_url, "--data-dir", str(tmp_path)]
    assert cli.invoke(app, [*base, "apply", "-f", str(EXAMPLE_BUNDLE)]).exit_code == 0
    assert cli.invoke(app, [*base, "reconcile", "--all"]).exit_code == 0
    result = cli.invoke(app, [*base, "migrate", "-o", "json"])
    assert result.exit_code == 0, result.stderr
    assert '"migrated": 0' in result.stdout and f'"head": "{head()}"' in result.stdout
    assert f"every tenant environment is at {head()}" in cli.invoke(app, [*base, "migrate"]).stdout

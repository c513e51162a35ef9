"""No reconcile removes data: a profile change and an environment removal, with data in every
store, on the embedded default and on PostgreSQL + S3 (moto) + NATS + Redis."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from typer.testing import CliRunner

from tenantry.bootstrap import Services, services
from tenantry.cli.main import app
from tenantry.core.context import TenantCtx
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.core.settings import Settings
from tenantry.tenancy.controller.resources import Resource
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Profile, Team, TenantSpec
from tests.conftest import EXAMPLE_BUNDLE, NATS_URL, empty

REDIS_URL = "redis://127.0.0.1:6379/13"
CREATE = text("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.postgres)])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Services]:
    """SQLite + files + in-process bus, or PostgreSQL + S3 + NATS + Redis; what the test made
    is retired at the end (by the test, as a lifecycle job would, never by a reconcile)."""
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'c.db'}")
    if request.param == "real":
        settings = settings.model_copy(
            update={
                "database_url": empty(request.getfixturevalue("postgres_url")),
                "objects": "s3",
                "s3_endpoint_url": request.getfixturevalue("s3_endpoint"),
                "s3_access_key": "test",
                "s3_secret_key": SecretStr("test"),
                "nats_url": NATS_URL,
                "redis_url": REDIS_URL,
            }
        )
    async with services(settings) as wired:
        yield wired
        for tenant in await wired.controller.everyone():
            for record in (await wired.registry.get(tenant)).resources:
                resource = Resource.from_dict(record)
                provisioner = next(
                    p for p in wired.controller.provisioners if p.kind is resource.kind
                )
                await provisioner.retire(resource)


def _tenant(tenant: str, profile: Profile, envs: tuple[str, ...]) -> Bundle:
    spec = TenantSpec(
        name="Safe",
        profile=profile,
        environments=[Environment(id=env) for env in envs],
        teams={"support": Team(name="Support")},
    )
    return Bundle(tenants={tenant: spec})


async def _settle(wired: Services, tenant: str, profile: Profile, *envs: str) -> list[str]:
    await wired.registry.apply(_tenant(tenant, profile, envs))
    outcome = await wired.controller.reconcile(tenant)
    assert outcome.result == "ready", outcome.message
    assert not any("retire" in step for step in outcome.steps)
    # A profile change starts a migrate job (tests/integration/lifecycle/test_migrate.py);
    # these tests are about what reconciles do meanwhile, so the job is cancelled unrun.
    for job in await wired.lifecycle.list(tenant_id=tenant, state=JobState.QUEUED):
        await wired.lifecycle.cancel(job.id)
    return list(outcome.steps)


def _ctx(tenant: str, env: str) -> TenantCtx:
    return TenantCtx(tenant_id=tenant, env_id=env, team_id="support")


async def _write(wired: Services, tenant: str, env: str) -> None:
    scope = await wired.scopes.open(_ctx(tenant, env))
    await scope.sessions.create("support", "s1", user="u1", variables={"env": env})
    await scope.state.set("support", "s1", {"step": env})
    await scope.objects.put("reports/q1.txt", f"quarter {env}".encode())
    await scope.search.index("d1", title="Invoice", body=f"unpaid invoice {env}")
    async with scope.data.transaction() as conn:
        await conn.execute(CREATE)
        await conn.execute(text("INSERT INTO notes (id, body) VALUES (1, :b)"), {"b": env})


async def _read(wired: Services, tenant: str, env: str) -> None:
    scope = await wired.scopes.open(_ctx(tenant, env))
    assert (await scope.sessions.get("support", "s1")).variables == {"env": env}
    assert await scope.state.get("support", "s1") == {"step": env}
    assert (await scope.objects.get("reports/q1.txt")).data == f"quarter {env}".encode()
    assert [hit.doc_id for hit in await scope.search.search("invoice")] == ["d1"]
    async with scope.data.transaction() as conn:
        assert (await conn.execute(text("SELECT body FROM notes"))).scalars().all() == [env]


def _new_tenant() -> str:
    return f"safe{uuid.uuid4().hex[:8]}"  # stream, database and role names are server-wide


async def test_a_profile_change_keeps_every_store_serving_from_its_placement(
    stack: Services,
) -> None:
    tenant = _new_tenant()
    await _settle(stack, tenant, Profile.MT_STANDARD, "prod", "staging")
    for env in ("prod", "staging"):
        await _write(stack, tenant, env)
    before = await stack.registry.get(tenant)
    steps = await _settle(stack, tenant, Profile.ST_DEDICATED, "prod", "staging")
    assert steps and all(step.startswith("keep ") for step in steps)
    for env in ("prod", "staging"):
        await _read(stack, tenant, env)
    after = await stack.registry.get(tenant)
    assert after.placement == before.placement and after.resources == before.resources
    assert after.ready is True and after.observed_generation == after.generation
    moving = next(c for c in after.conditions if c.type == "MigrationRequired")
    assert (moving.status, moving.reason) == ("True", "ProfileChanged")
    assert "prod: mt-standard -> st-dedicated" in moving.message


async def test_a_removed_environment_stops_serving_and_keeps_its_data(stack: Services) -> None:
    tenant = _new_tenant()
    await _settle(stack, tenant, Profile.MT_STANDARD, "prod", "staging")
    for env in ("prod", "staging"):
        await _write(stack, tenant, env)
    steps = await _settle(stack, tenant, Profile.MT_STANDARD, "prod")
    assert steps and all(s.startswith("orphan ") and "environment removed" in s for s in steps)
    with pytest.raises(TenantryError) as missing:
        await stack.scopes.open(_ctx(tenant, "staging"))
    assert (missing.value.kind, missing.value.code) == (
        ErrorKind.NOT_FOUND,
        "environment.not_found",
    )
    await _read(stack, tenant, "prod")
    detail = await stack.registry.get(tenant)
    orphaned = [Resource.from_dict(r) for r in detail.orphaned]
    assert orphaned and {r.env_id for r in orphaned} == {"staging"}
    assert {r["orphaned"] for r in detail.orphaned} == {"EnvironmentRemoved"}
    for resource in orphaned:  # still there, as the backends see it
        provisioner = next(p for p in stack.controller.provisioners if p.kind is resource.kind)
        assert await provisioner.exists(resource), resource
    condition = next(c for c in detail.conditions if c.type == "Orphaned")
    assert (condition.status, condition.reason) == ("True", "EnvironmentRemoved")
    assert all(r.name in condition.message for r in orphaned)
    await _settle(stack, tenant, Profile.MT_STANDARD, "prod", "staging")  # added back
    await _read(stack, tenant, "staging")  # adopted, data included
    detail = await stack.registry.get(tenant)
    assert detail.orphaned == []
    assert {c.type: c.status for c in detail.conditions}["Orphaned"] == "False"


async def test_an_environment_added_back_serves_its_data_whatever_the_profile(
    stack: Services,
) -> None:
    tenant = _new_tenant()
    await _settle(stack, tenant, Profile.MT_STANDARD, "prod", "staging")
    await _write(stack, tenant, "staging")
    await _settle(stack, tenant, Profile.MT_STANDARD, "prod")
    await _settle(stack, tenant, Profile.ST_DEDICATED, "prod")
    steps = await _settle(stack, tenant, Profile.ST_DEDICATED, "prod", "staging")  # added back
    assert steps and all(step.startswith("keep ") for step in steps), steps
    await _read(stack, tenant, "staging")
    detail = await stack.registry.get(tenant)
    assert detail.orphaned == []
    moving = next(c for c in detail.conditions if c.type == "MigrationRequired")
    assert moving.status == "True" and "staging: mt-standard -> st-dedicated" in moving.message
    await _settle(stack, tenant, Profile.ST_DEDICATED, "prod", "staging", "dev")  # a new one
    placed = (await stack.registry.get(tenant)).placement or {}
    assert placed["dev"]["profile"] == "st-dedicated"


def test_the_cli_plans_and_reconciles_a_profile_change_without_removing(
    database_url: str, tmp_path: Path
) -> None:
    """The issue's reproduction: acme's object survives mt-standard -> st-dedicated."""
    cli = CliRunner()
    base = ["--database-url", database_url, "--data-dir", str(tmp_path / "data")]
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data")
    assert cli.invoke(app, [*base, "apply", "-f", str(EXAMPLE_BUNDLE)]).exit_code == 0
    assert cli.invoke(app, [*base, "reconcile", "--all", "--wait"]).exit_code == 0
    asyncio.run(_with(settings, lambda wired: _write(wired, "acme", "prod")))
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLE_BUNDLE, bundle)
    text_ = (bundle / "bundle.yaml").read_text()
    (bundle / "bundle.yaml").write_text(
        text_.replace("profile: mt-standard", "profile: st-dedicated", 1)
    )
    planned = cli.invoke(app, [*base, "plan", "-f", str(bundle), "-o", "json"])
    lines = json.loads(planned.stdout)["resources"]["acme"]
    assert "keep objects tenants/acme/prod/ (acme/prod)" in "\n".join(lines)
    assert lines and all(line.startswith("keep ") for line in lines)
    for command in (["apply", "-f", str(bundle)], ["reconcile", "--all", "--wait", "-o", "json"]):
        done = cli.invoke(app, [*base, *command])
        assert done.exit_code == 0 and "retire" not in done.stdout, done.stdout
    asyncio.run(_with(settings, lambda wired: _read(wired, "acme", "prod")))
    removed = text_.replace('      - id: staging\n        name: "Staging"\n', "")
    assert removed != text_
    (bundle / "bundle.yaml").write_text(removed)
    planned = cli.invoke(app, [*base, "plan", "-f", str(bundle), "-o", "json"])
    lines = json.loads(planned.stdout)["resources"]["acme"]
    assert lines and all(line.startswith("orphan ") for line in lines)
    assert all("(acme/staging): environment removed" in line for line in lines)


async def _with(settings: Settings, work: Callable[[Services], Awaitable[None]]) -> None:
    async with services(settings) as wired:
        await work(wired)

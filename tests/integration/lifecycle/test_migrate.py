"""Migrate between profiles (mt-standard -> st-dedicated) on the embedded default and on
PostgreSQL + S3 (moto): every store reads back, writes made through the API during the move
all land, a copy that does not verify rolls back, a cancel rolls back, the old copy is retired
after the grace period (never the tenant's role)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from tenantry.api.app import create_app
from tenantry.backends.fs.blobs import LocalBlobSpace
from tenantry.backends.s3.objects import S3Settings, s3_client
from tenantry.bootstrap import Services, services
from tenantry.core import names
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.controller.resources import Resource
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.lifecycle.freeze import Freezer, FreezeSettings, WriteGate, WritesFrozen
from tenantry.tenancy.lifecycle.jobs import Job, JobState, StepState
from tenantry.tenancy.lifecycle.recipes import migration
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.lifecycle.steps import Recipes, Step, Work
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Profile, Team, TenantSpec
from tests.conftest import REPO, empty

CREATE = text("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
ROWS = 500
OBJECTS = 20


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.postgres)])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Services]:
    """SQLite + files, or PostgreSQL + S3 (moto); no grace period, so retiring is testable."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        admin_token="admin-secret",
        migration_grace_seconds=0,
    )
    if request.param == "real":
        settings = settings.model_copy(
            update={
                "database_url": empty(request.getfixturevalue("postgres_url")),
                "objects": "s3",
                "s3_endpoint_url": request.getfixturevalue("s3_endpoint"),
                "s3_access_key": "test",
                "s3_secret_key": SecretStr("test"),
            }
        )
    async with services(settings) as wired:
        yield wired


def _bundle(tenant: str, profile: Profile) -> Bundle:
    spec = TenantSpec(
        name="Moving",
        profile=profile,
        environments=[Environment(id="prod")],
        teams={"support": Team(name="Support")},
    )
    return Bundle(tenants={tenant: spec})


def _ctx(tenant: str) -> TenantCtx:
    return TenantCtx(tenant_id=tenant, env_id="prod", team_id="support")


async def _tenant(wired: Services) -> str:
    tenant = f"mv{uuid.uuid4().hex[:8]}"  # database, bucket and role names are server-wide
    await wired.registry.apply(_bundle(tenant, Profile.MT_STANDARD))
    assert (await wired.controller.reconcile(tenant)).result == "ready"
    scope = await wired.scopes.open(_ctx(tenant))
    await scope.sessions.create("support", "s1", user="u1", variables={"k": "v"})
    await scope.state.set("support", "s1", {"step": 1})
    for i in range(OBJECTS):
        await scope.objects.put(f"docs/{i}.txt", f"object {i}".encode(), content_type="text/plain")
    await scope.search.index("d1", title="Invoice", body="unpaid invoice")
    async with scope.data.transaction() as conn:
        await conn.execute(CREATE)
        for start in range(0, ROWS, 100):
            rows = [{"i": i, "b": f"row {i}"} for i in range(start, start + 100)]
            await conn.execute(text("INSERT INTO notes (id, body) VALUES (:i, :b)"), rows)
    return tenant


async def _change_profile(wired: Services, tenant: str) -> Job:
    """Apply the changed bundle and reconcile: the controller requests the migrate job."""
    await wired.registry.apply(_bundle(tenant, Profile.ST_DEDICATED))
    outcome = await wired.controller.reconcile(tenant)
    assert outcome.moves == ("prod: mt-standard -> st-dedicated",), outcome
    (job,) = await wired.lifecycle.list(tenant_id=tenant)
    assert job.kind is JobKind.MIGRATE and job.state is JobState.QUEUED
    assert (await wired.registry.get(tenant)).lifecycle_state is LifecycleState.MIGRATING
    return job


async def _read(wired: Services, tenant: str) -> None:
    scope = await wired.scopes.open(_ctx(tenant))
    assert (await scope.sessions.get("support", "s1")).variables == {"k": "v"}
    assert await scope.state.get("support", "s1") == {"step": 1}
    for i in range(OBJECTS):
        found = await scope.objects.get(f"docs/{i}.txt")
        assert (found.data, found.content_type) == (f"object {i}".encode(), "text/plain")
    assert [hit.doc_id for hit in await scope.search.search("invoice")] == ["d1"]
    async with scope.data.transaction() as conn:
        rows = (await conn.execute(text("SELECT id, body FROM notes ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [(i, f"row {i}") for i in range(ROWS)]


async def _placement(wired: Services, tenant: str) -> Placement:
    return Placement.from_dict((await wired.registry.get(tenant)).placement["prod"])


def _postgres(wired: Services) -> bool:
    return wired.settings.tenant_postgres_url() is not None


def _relational_exists(wired: Services, placement: Placement) -> bool:
    url = wired.settings.tenant_postgres_url()
    assert url is not None
    with psycopg.connect(_libpq(url), autocommit=True) as db:
        name = placement.relational.name
        if placement.relational.mode == "shared-schema":
            query = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
        else:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
        return db.execute(query, (name,)).fetchone() is not None


def _role_exists(wired: Services, tenant: str) -> bool:
    url = wired.settings.tenant_postgres_url()
    assert url is not None
    with psycopg.connect(_libpq(url), autocommit=True) as db:
        role = names.sql_role(tenant, "prod")
        return (
            db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None
        )


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


async def _object_keys(wired: Services, placement: Placement) -> list[str]:
    if wired.settings.objects == "local":
        space = LocalBlobSpace.for_objects(
            wired.settings.data_dir.resolve() / "objects", placement.objects
        )
        try:
            return [k for k in await space.list(limit=1000) if not k.startswith(".tenantry")]
        except Exception:
            return []
    settings = wired.settings
    client = s3_client(
        S3Settings(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key="test",
            shared_bucket=settings.s3_shared_bucket,
        )
    )
    bucket = placement.objects.bucket or wired.settings.s3_shared_bucket
    try:
        listed = client.list_objects_v2(Bucket=bucket, Prefix=placement.objects.prefix)
    except client.exceptions.NoSuchBucket:
        return []
    return [item["Key"] for item in listed.get("Contents", []) if ".tenantry" not in item["Key"]]


async def test_a_profile_change_moves_every_store_and_retires_the_old_copy(
    stack: Services,
) -> None:
    tenant = await _tenant(stack)
    old = await _placement(stack, tenant)
    job = await _change_profile(stack, tenant)
    await _read(stack, tenant)  # still served from the old placement meanwhile
    done = await stack.jobs.run(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED, done
    assert [s.name for s in done.steps] == ["plan", "provision", "copy", "verify", "cutover"]
    new = await _placement(stack, tenant)
    assert new.profile == "st-dedicated" and old.profile == "mt-standard"
    record = await stack.registry.get(tenant)
    assert record.lifecycle_state is LifecycleState.ACTIVE
    moving = next(c for c in record.conditions if c.type == "MigrationRequired")
    assert moving.status == "False"
    await _read(stack, tenant)
    assert len(await _object_keys(stack, old)) == OBJECTS  # the old copy is kept...
    if _postgres(stack):
        assert _relational_exists(stack, old) and _relational_exists(stack, new)
    assert stack.retirements is not None and await stack.retirements.run() == 1
    assert await _object_keys(stack, old) == []  # ...until the grace period ends
    if _postgres(stack):
        assert not _relational_exists(stack, old) and _role_exists(stack, tenant)
    retired = await stack.lifecycle.get(job.id)
    assert retired.step("retire").state is StepState.DONE
    assert await stack.retirements.run() == 0  # once
    owned = {Resource.from_dict(r).name for r in (await stack.registry.get(tenant)).resources}
    assert old.objects.prefix not in owned
    await _read(stack, tenant)


async def test_writes_through_the_api_during_the_move_all_land(stack: Services) -> None:
    tenant = await _tenant(stack)
    job = await _change_profile(stack, tenant)
    issued = await stack.access.issue_token(
        "writer", tenant=tenant, team="support", role=Role.TEAM_MEMBER
    )
    headers = {
        "Authorization": f"Bearer {issued.token}",
        "X-Tenant-ID": tenant,
        "X-Team-ID": "support",
    }
    app = create_app(services=stack)
    acknowledged: list[int] = []
    refused: list[int] = []
    moved = asyncio.Event()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    ) as api:

        async def write(n: int) -> None:
            put = await api.put(
                f"/api/v1/objects/live/{n}",
                content=f"write {n}".encode(),
                headers={"Content-Type": "text/plain"},
            )
            doc = await api.post(
                "/api/v1/search/documents",
                json={"doc_id": f"w{n}", "title": "live", "body": f"write {n}"},
            )
            if put.status_code == 200 and doc.status_code == 201:
                acknowledged.append(n)
            else:
                assert {put.status_code, doc.status_code} <= {200, 201, 503}, (put.text, doc.text)
                if 503 in {put.status_code, doc.status_code}:
                    assert (put if put.status_code == 503 else doc).headers["Retry-After"]
                refused.append(n)

        async def writer() -> None:
            n = 0
            after = 0
            while after < 10:
                await write(n)
                n += 1
                if moved.is_set():
                    after += 1
                await asyncio.sleep(0.005)

        writing = asyncio.create_task(writer())
        await asyncio.sleep(0.2)
        done = await stack.jobs.run(job.id)
        moved.set()
        await writing
        assert done is not None and done.state is JobState.SUCCEEDED, done
        assert len(acknowledged) >= 12
        for n in acknowledged:
            found = await api.get(f"/api/v1/objects/live/{n}")
            assert found.status_code == 200 and found.content == f"write {n}".encode()
        scope = await stack.scopes.open(_ctx(tenant))
        async with scope.data.transaction() as conn:
            docs = set(
                (await conn.execute(text("SELECT doc_id FROM tenantry_search"))).scalars().all()
            )
        assert {f"w{n}" for n in acknowledged} <= docs
    assert (await _placement(stack, tenant)).profile == "st-dedicated"
    await _read(stack, tenant)


def _tampering(stack: Services, tenant: str) -> Recipes:
    """The migrate recipe with the copy changed in its target right after the copy step."""
    assert stack.retirements is not None
    base = migration.migrate(stack.retirements.toolkit)

    def steps(job: Job) -> list[Step]:
        found = list(base(job))
        copy = next(i for i, s in enumerate(found) if s.name == "copy")
        original = found[copy].run

        async def copy_then_tamper(work: Work) -> None:
            await original(work)
            target = Placement.from_dict(work.outputs["moves"]["prod"]["to"])
            scope = await work.maintenance.scope(tenant, "prod", target)
            await scope.objects.put("docs/0.txt", b"tampered")
            if _postgres(stack):
                async with scope.data.transaction() as conn:
                    await conn.execute(text("UPDATE notes SET body = 'tampered' WHERE id = 7"))

        found[copy] = replace(found[copy], run=copy_then_tamper)
        return found

    return {JobKind.MIGRATE: steps}


async def test_a_copy_that_does_not_verify_rolls_back(stack: Services) -> None:
    tenant = await _tenant(stack)
    old = await _placement(stack, tenant)
    job = await _change_profile(stack, tenant)
    failed = await stack.jobs.variant(_tampering(stack, tenant)).run(job.id)
    assert failed is not None and failed.state is JobState.FAILED
    assert failed.error is not None and "differ" in failed.error, failed.error
    assert failed.step("verify").state is StepState.FAILED
    assert failed.step("provision").state is StepState.UNDONE
    assert (await stack.registry.get(tenant)).lifecycle_state is LifecycleState.ACTIVE
    assert await _placement(stack, tenant) == old
    target = place(Profile.ST_DEDICATED, tenant, "prod", stack.controller.layout)
    assert await _object_keys(stack, target) == []  # the partial copy is gone
    if _postgres(stack):
        assert not _relational_exists(stack, target) and _role_exists(stack, tenant)
    await _read(stack, tenant)


async def test_a_cancel_before_the_cutover_rolls_back(stack: Services) -> None:
    tenant = await _tenant(stack)
    old = await _placement(stack, tenant)
    job = await _change_profile(stack, tenant)
    assert stack.retirements is not None
    base = migration.migrate(stack.retirements.toolkit)

    def steps(j: Job) -> list[Step]:
        found = list(base(j))
        copy = next(i for i, s in enumerate(found) if s.name == "copy")
        original = found[copy].run

        async def copy_then_cancel(work: Work) -> None:
            await original(work)
            await stack.lifecycle.cancel(job.id)

        found[copy] = replace(found[copy], run=copy_then_cancel)
        return found

    cancelled = await stack.jobs.variant({JobKind.MIGRATE: steps}).run(job.id)
    assert cancelled is not None and cancelled.state is JobState.CANCELLED
    assert (await stack.registry.get(tenant)).lifecycle_state is LifecycleState.ACTIVE
    assert await _placement(stack, tenant) == old
    target = place(Profile.ST_DEDICATED, tenant, "prod", stack.controller.layout)
    assert await _object_keys(stack, target) == []
    await _read(stack, tenant)


async def test_a_frozen_tenant_s_writes_wait_then_get_503(stack: Services) -> None:
    tenant = await _tenant(stack)
    await _change_profile(stack, tenant)
    sessions = stack.retirements.toolkit.sessions  # type: ignore[union-attr]
    gate = WriteGate(sessions, settings=FreezeSettings(wait=0.2))
    freezer = Freezer(sessions, settings=FreezeSettings(drain_seconds=0.5))
    held = await gate.enter(tenant)
    with pytest.raises(Exception) as drained:  # a write in flight: the freeze waits, then gives up
        await freezer.freeze(tenant)
    assert getattr(drained.value, "code", "") == "migration.drain_timeout"
    assert not await freezer.frozen(tenant)
    await held()
    await freezer.freeze(tenant)
    with pytest.raises(WritesFrozen) as refused:
        await gate.enter(tenant)
    assert refused.value.retry_after >= 1
    waiting = asyncio.create_task(gate.enter(tenant))
    await asyncio.sleep(0.05)
    await freezer.thaw(tenant)
    release = await waiting  # the waiting write goes on once thawed
    assert await freezer.in_flight(tenant) == 1
    await release()
    assert await freezer.in_flight(tenant) == 0
    with contextlib.suppress(Exception):
        await stack.lifecycle.cancel((await stack.lifecycle.list(tenant_id=tenant))[0].id)


STEPS = ("plan", "provision", "copy", "verify", "cutover")


@pytest.mark.parametrize(
    ("backend", "step"),
    [("embedded", step) for step in STEPS]
    + [pytest.param("real", step, marks=pytest.mark.postgres) for step in ("copy", "cutover")],
)
async def test_a_migration_killed_after_a_step_resumes(
    backend: str, step: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SIGKILL right after each step on the embedded default, and after the riskiest ones on
    PostgreSQL + S3: after the copy (a re-run must not duplicate rows) and after the flip (a
    re-run must not flip or copy again); another worker resumes once the claim ends."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        job_lease_seconds=1,
    )
    if backend == "real":
        settings = settings.model_copy(
            update={
                "database_url": empty(request.getfixturevalue("postgres_url")),
                "objects": "s3",
                "s3_endpoint_url": request.getfixturevalue("s3_endpoint"),
                "s3_access_key": "test",
                "s3_secret_key": SecretStr("test"),
            }
        )
    async with services(settings) as wired:
        tenant = await _tenant(wired)
        job = await _change_profile(wired, tenant)
    _run_until_killed(settings, job.id, step)
    async with services(settings) as wired:
        done = None
        for _ in range(100):  # until the killed worker's claim expires
            done = await wired.jobs.run(job.id)
            if done is not None:
                break
            await asyncio.sleep(0.1)
        assert done is not None and done.state is JobState.SUCCEEDED, done
        assert done.step(step).attempts == 2  # resumed at the step it was in
        assert (await _placement(wired, tenant)).profile == "st-dedicated"
        await _read(wired, tenant)  # every row and object once: no duplicate, nothing lost


def _run_until_killed(settings: Settings, job_id: str, step: str) -> None:
    document = settings.model_dump_json()
    command = [sys.executable, "-m", "tests.e2e.migrate_stepper", document, job_id, step]
    environment = {**os.environ, "TENANTRY_LOG_LEVEL": "WARNING"}
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=environment
    ) as process:
        assert process.stdout is not None
        try:
            line = process.stdout.readline().strip()
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert line == "ACTED", f"expected the worker to act, got {line!r}"


async def test_a_cancelled_migration_is_not_started_again_for_the_same_spec(
    stack: Services,
) -> None:
    tenant = await _tenant(stack)
    job = await _change_profile(stack, tenant)
    await stack.lifecycle.cancel(job.id)
    again = await stack.controller.reconcile(tenant)
    assert again.moves and len(await stack.lifecycle.list(tenant_id=tenant)) == 1
    assert (await stack.registry.get(tenant)).lifecycle_state is LifecycleState.ACTIVE
    await stack.registry.apply(_bundle(tenant, Profile.MT_STANDARD))  # changed back
    assert (await stack.controller.reconcile(tenant)).moves == ()
    await stack.registry.apply(_bundle(tenant, Profile.ST_DEDICATED))  # and again: a new spec
    assert (await stack.controller.reconcile(tenant)).moves
    latest = (await stack.lifecycle.list(tenant_id=tenant))[0]
    assert latest.id != job.id and latest.state is JobState.QUEUED

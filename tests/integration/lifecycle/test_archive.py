"""Archive and restore on the embedded default and on PostgreSQL + S3 (moto) + Redis: every
session, state value, secret, object, search document and relational row of every environment
reads back equal; a cancel before the removal keeps the tenant as it was; a tampered archive
fails the restore with the tenant still archived."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from tenantry.backends.keys.keyring import Keyring
from tenantry.bootstrap import Services, archives
from tenantry.core import names
from tenantry.core.context import TenantCtx
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.runtime.crypto import Sealer
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.lifecycle.archives import Shelf
from tenantry.tenancy.lifecycle.jobs import Job, JobState
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.lifecycle.steps import Step, Work
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Profile, Team, TenantSpec

REDIS_URL = "redis://127.0.0.1:6379/13"
ENVS = ("dev", "prod")
NOTES = text(
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, raw BLOB, score REAL)"
)
NOTES_PG = text(
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, raw BYTEA, score REAL,"
    " tags TEXT[] DEFAULT '{}', meta JSONB, made TIMESTAMPTZ DEFAULT now(),"
    " serial_no SERIAL, UNIQUE (body))"
)


async def _tenant(wired: Services, profile: Profile = Profile.MT_STANDARD) -> str:
    tenant = f"arc{uuid.uuid4().hex[:8]}"  # database, role and bucket names are server-wide
    spec = TenantSpec(
        name="Archived",
        profile=profile,
        environments=[Environment(id=env) for env in ENVS],
        teams={"support": Team(name="Support")},
    )
    await wired.registry.apply(Bundle(tenants={tenant: spec}))
    outcome = await wired.controller.reconcile(tenant)
    assert outcome.result == "ready", outcome.message
    return tenant


async def _scope(wired: Services, tenant: str, env: str) -> TenantScope:
    return await wired.scopes.open(TenantCtx(tenant_id=tenant, env_id=env, team_id="support"))


async def _write(wired: Services, tenant: str) -> None:
    for env in ENVS:
        scope = await _scope(wired, tenant, env)
        await scope.sessions.create("support", "s1", user="u1", variables={"env": env, "n": [1]})
        await scope.sessions.create(None, "s2", channel=None, variables={})
        await scope.state.set("support", "s1", {"step": env, "deep": [{"a": None}]})
        await scope.state.set(None, "s2", 42, ttl=3600)
        await scope.objects.put(
            "reports/q1.txt", f"quarter {env}".encode(), content_type="text/plain"
        )
        await scope.objects.put("bin/raw", bytes(range(256)) * 40, content_type="image/png")
        await scope.search.index(
            "d1", title="Invoice", body=f"unpaid invoice {env}", fields={"n": 1}
        )
        await scope.search.index("d2", title="Receipt", body="paid")
        async with scope.data.transaction() as conn:
            postgres = scope.data.dialect == "postgresql"
            await conn.execute(NOTES_PG if postgres else NOTES)
            await conn.execute(text("CREATE INDEX notes_score ON notes (score)"))
            for n in range(1, 30):
                row = {"i": n, "b": f"{env} note {n} ✓", "r": bytes([n, 0, 255]), "s": n / 4}
                await conn.execute(
                    text("INSERT INTO notes (id, body, raw, score) VALUES (:i, :b, :r, :s)"), row
                )
            if postgres:
                meta = text("UPDATE notes SET tags = '{a,\"b c\"}', meta = '{\"k\": [1, 2]}'")
                await conn.execute(meta)
    scope = await _scope(wired, tenant, ENVS[0])
    await scope.secrets.put("token", "v1")
    await scope.secrets.put("token", "v2")
    await scope.secrets.put("hook", b"\x00\xffbytes", team="support")


async def _snapshot(wired: Services, tenant: str) -> dict[str, Any]:
    """Everything the tenant holds, as its stores read it back (no revisions, no ETags)."""
    seen: dict[str, Any] = {}
    for env in ENVS:
        scope = await _scope(wired, tenant, env)
        sessions = (await scope.sessions.list(limit=100)).items
        seen[f"{env}/sessions"] = sorted(sessions, key=lambda s: (s.team_id, s.session_id))
        seen[f"{env}/state"] = [
            (t, s, await scope.state.get(t, s)) for t, s in await scope.state.entries()
        ]
        keys = (await scope.objects.list(limit=100)).items
        found = [(k, await scope.objects.get(k)) for k in keys]
        seen[f"{env}/objects"] = [(k, o.data, o.content_type) for k, o in found]
        seen[f"{env}/search"] = await scope.search.documents()
        seen[f"{env}/hits"] = [h.doc_id for h in await scope.search.search("invoice")]
        async with scope.data.transaction() as conn:
            rows = await conn.execute(text("SELECT * FROM notes ORDER BY id"))
            seen[f"{env}/notes"] = [tuple(r) for r in rows]
    scope = await _scope(wired, tenant, ENVS[0])
    versions = await scope.secrets.export()
    seen["secrets"] = [
        (
            v.info.path,
            v.info.version,
            (
                await scope.secrets.get(v.info.name, team=v.info.team, version=v.info.version)
            ).value.reveal(),
        )
        for v in versions
    ]
    return seen


async def _run(wired: Services, kind: JobKind, tenant: str, **options: Any) -> Job:
    job = await wired.lifecycle.request(kind, tenant, actor="test", options=options or None)
    done = await wired.jobs.run(job.id)
    assert done is not None
    return done


async def _state(wired: Services, tenant: str) -> LifecycleState:
    return (await wired.registry.get(tenant)).lifecycle_state


def _shelf(wired: Services, tenant: str, archive: str) -> Shelf:
    space = archives(wired.settings).space(tenant)
    return Shelf(space, Sealer(Keyring(wired.settings.data_dir.resolve())), tenant, archive)


@pytest.mark.parametrize("profile", [Profile.MT_STANDARD, Profile.ST_DEDICATED])
async def test_archive_then_restore_brings_every_resource_back(
    stack: Services, profile: Profile
) -> None:
    tenant = await _tenant(stack, profile)
    await _write(stack, tenant)
    before = await _snapshot(stack, tenant)
    archived = await _run(stack, JobKind.ARCHIVE, tenant)
    assert archived.state is JobState.SUCCEEDED, [(s.name, s.error) for s in archived.steps]
    assert await _state(stack, tenant) is LifecycleState.ARCHIVED
    with pytest.raises(TenantryError) as locked:
        await _scope(stack, tenant, "prod")
    assert (locked.value.kind, locked.value.code) == (ErrorKind.LOCKED, "tenant.archived")
    await _hot_resources_are_gone(stack, tenant)
    archive = archived.params["outputs"]["archive_id"]
    await _manifest_lists_every_file(stack, tenant, archive)
    restored = await _run(stack, JobKind.RESTORE, tenant)
    assert restored.state is JobState.SUCCEEDED, restored.error
    assert restored.params["outputs"]["archive_id"] == archive
    assert await _state(stack, tenant) is LifecycleState.ACTIVE
    assert await _snapshot(stack, tenant) == before


async def _hot_resources_are_gone(wired: Services, tenant: str) -> None:
    for env in ENVS:
        scope = await wired.jobs._maintenance.scope(tenant, env)
        assert (await scope.sessions.list_keys()).items == ()
        assert await scope.state.entries() == []
        assert (await scope.objects.list()).items == ()
        with pytest.raises(Exception):  # noqa: B017 - the space is gone, however it says so
            async with scope.data.transaction() as conn:
                await conn.execute(text("SELECT count(*) FROM notes"))
    assert not (wired.settings.data_dir / "tenants" / tenant / "prod.sqlite3").exists()


async def _manifest_lists_every_file(wired: Services, tenant: str, archive: str) -> None:
    shelf = _shelf(wired, tenant, archive)
    manifest = await shelf.manifest()
    assert (manifest.tenant_id, manifest.archive_id) == (tenant, archive)
    assert manifest.environments == list(ENVS)
    assert manifest.counts["prod/relational"] == 29 and manifest.counts["secrets"] == 3
    assert manifest.counts["dev/objects"] == 2 and manifest.counts["dev/sessions"] == 2
    kinds = {(f.kind, f.env) for f in manifest.files}
    assert ("objects", "prod") in kinds and ("secrets", None) in kinds
    for entry in manifest.files:
        stored = (await shelf.space.get(names.archive_key(archive, entry.name))).data
        assert (len(stored), hashlib.sha256(stored).hexdigest()) == (entry.size, entry.sha256)
        assert b"quarter prod" not in stored  # sealed


async def test_a_cancel_before_removal_keeps_the_tenant_and_drops_the_partial_archive(
    stack: Services,
) -> None:
    tenant = await _tenant(stack)
    await _write(stack, tenant)
    before = await _snapshot(stack, tenant)

    async def cancel(work: Work) -> None:
        await stack.lifecycle.cancel(work.job.id)

    real = _recipes(stack)[JobKind.ARCHIVE]

    def cancelled_after_export(job: Job) -> list[Step]:
        steps = list(real(job))
        at = [s.name for s in steps].index("manifest")
        return [*steps[:at], Step("cancel", cancel), *steps[at:]]

    runner = stack.jobs.variant({JobKind.ARCHIVE: cancelled_after_export})
    job = await stack.lifecycle.request(JobKind.ARCHIVE, tenant, actor="test")
    assert await _state(stack, tenant) is LifecycleState.SUSPENDED
    done = await runner.run(job.id)
    assert done is not None and done.state is JobState.CANCELLED
    assert await _state(stack, tenant) is LifecycleState.ACTIVE
    assert await _snapshot(stack, tenant) == before
    assert await archives(stack.settings).space(tenant).list("") == []


async def test_a_tampered_archive_fails_the_restore_and_the_tenant_stays_archived(
    stack: Services,
) -> None:
    tenant = await _tenant(stack)
    await _write(stack, tenant)
    archived = await _run(stack, JobKind.ARCHIVE, tenant)
    archive = archived.params["outputs"]["archive_id"]
    shelf = _shelf(stack, tenant, archive)
    entry = next(f for f in (await shelf.manifest()).files if f.kind == "objects")
    key = names.archive_key(archive, entry.name)
    stored = bytearray((await shelf.space.get(key)).data)
    stored[-20] ^= 1
    await shelf.space.put(key, bytes(stored))
    failed = await _run(stack, JobKind.RESTORE, tenant, archive_id=archive)
    assert failed.state is JobState.FAILED
    error = failed.step("verify").error or ""
    assert f"file {entry.name} does not match its SHA-256" in error, error
    assert await _state(stack, tenant) is LifecycleState.ARCHIVED


async def test_restore_of_a_tenant_without_archive_fails_clearly(stack: Services) -> None:
    tenant = await _tenant(stack)
    archived = await _run(stack, JobKind.ARCHIVE, tenant)
    await (
        archives(stack.settings)
        .space(tenant)
        .delete(names.archive_key(archived.params["outputs"]["archive_id"], "manifest.json"))
    )
    failed = await _run(stack, JobKind.RESTORE, tenant)
    assert failed.state is JobState.FAILED
    assert failed.step("locate").error == f"tenant {tenant!r} has no archive"


def _recipes(wired: Services) -> Any:
    return dict(wired.jobs.recipes)


async def test_a_removal_that_fails_part_way_keeps_the_archive_and_retry_finishes(
    stack: Services,
) -> None:
    tenant = await _tenant(stack)
    await _write(stack, tenant)
    before = await _snapshot(stack, tenant)
    real = _recipes(stack)[JobKind.ARCHIVE]
    failures = [1]

    def breaking_removal(job: Job) -> list[Step]:
        steps = list(real(job))
        remove = steps[-1]

        async def broken(work: Work) -> None:
            scope = await stack.jobs._maintenance.scope(tenant, "dev")
            await scope.sessions.clear()  # part of the removal is done
            if failures:
                failures.pop()
                raise TenantryError("the removal broke part-way")
            await remove.run(work)

        return [*steps[:-1], Step(remove.name, broken, remove.undo, remove.final)]

    runner = stack.jobs.variant({JobKind.ARCHIVE: breaking_removal})
    job = await stack.lifecycle.request(JobKind.ARCHIVE, tenant, actor="test")
    failed = await runner.run(job.id)
    assert failed is not None and failed.state is JobState.FAILED
    assert failed.step("remove").error == "the removal broke part-way"
    assert await _state(stack, tenant) is LifecycleState.SUSPENDED  # not served half-removed
    archive = failed.params["outputs"]["archive_id"]
    assert len((await _shelf(stack, tenant, archive).manifest()).files) > 0  # still whole
    await stack.lifecycle.retry(job.id)
    done = await runner.run(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED
    assert await _state(stack, tenant) is LifecycleState.ARCHIVED
    assert (await _run(stack, JobKind.RESTORE, tenant)).state is JobState.SUCCEEDED
    assert await _snapshot(stack, tenant) == before

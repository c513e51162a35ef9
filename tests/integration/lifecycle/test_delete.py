"""Delete and purge, on the embedded default and on PostgreSQL + S3 (moto) + NATS + Redis (the
``stack`` fixture): retention and cancel, --now, prevent_deletion, crypto-shredding, and
environments' purges."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from tenantry.backends.keys.keyring import Keyring
from tenantry.bootstrap import Services, archives, runtime
from tenantry.core import names
from tenantry.core.context import TenantCtx
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.runtime.crypto import Binding, Sealer, Undecryptable
from tenantry.runtime.objects.records import FRAMED
from tenantry.runtime.secrets.vault import ENV_MARKER
from tenantry.tenancy.controller.resources import Resource
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.lifecycle.jobs import Job, JobState
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Profile, Team, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.models import SecretVersionRow

NOTES = text("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
ENVS = ("prod", "staging")


@dataclass(frozen=True)
class Pair:
    victim: str
    bystander: str


@dataclass(frozen=True)
class Copy:
    """Sealed bytes taken aside, and what they were bound to."""

    binding: Binding
    sealed: bytes


def _spec(*envs: str) -> TenantSpec:
    return TenantSpec(
        name="Doomed",
        environments=[Environment(id=env) for env in envs],
        teams={"support": Team(name="Support")},
    )


async def _pair(wired: Services) -> Pair:
    """Two new tenants with data in every store of both environments (stream, database and
    role names are server-wide, so the ids are new each time)."""
    pair = Pair(f"doom{uuid.uuid4().hex[:8]}", f"keep{uuid.uuid4().hex[:8]}")
    tenants = {tenant: _spec(*ENVS) for tenant in (pair.victim, pair.bystander)}
    await wired.registry.apply(Bundle(tenants=tenants))
    for tenant in tenants:
        assert (await wired.controller.reconcile(tenant)).result == "ready"
        for env in ENVS:
            await write(wired, tenant, env)
    return pair


def _ctx(tenant: str, env: str) -> TenantCtx:
    return TenantCtx(tenant_id=tenant, env_id=env, team_id="support")


async def write(wired: Services, tenant: str, env: str) -> None:
    """A record in every store of the tenant environment."""
    scope = await wired.scopes.open(_ctx(tenant, env))
    await scope.sessions.create("support", "s1", user="u1", variables={"env": env})
    await scope.state.set("support", "s1", {"step": env})
    await scope.objects.put("reports/q1.txt", f"quarter {env}".encode())
    await scope.search.index("d1", title="Invoice", body=f"unpaid invoice {env}")
    await scope.secrets.put("api_key", f"{tenant}-key")
    async with scope.data.transaction() as conn:
        await conn.execute(NOTES)
        await conn.execute(text("INSERT INTO notes (id, body) VALUES (1, :b)"), {"b": env})


async def _read(wired: Services, tenant: str, env: str) -> None:
    scope = await wired.scopes.open(_ctx(tenant, env))
    assert (await scope.sessions.get("support", "s1")).variables == {"env": env}
    assert await scope.state.get("support", "s1") == {"step": env}
    assert (await scope.objects.get("reports/q1.txt")).data == f"quarter {env}".encode()
    assert [hit.doc_id for hit in await scope.search.search("invoice")] == ["d1"]
    assert (await scope.secrets.get("api_key")).value.reveal() == f"{tenant}-key".encode()
    async with scope.data.transaction() as conn:
        assert (await conn.execute(text("SELECT body FROM notes"))).scalars().all() == [env]


async def _state(wired: Services, tenant: str) -> LifecycleState:
    return (await wired.registry.get(tenant)).lifecycle_state


async def _resources(wired: Services, tenant: str) -> list[Resource]:
    return [Resource.from_dict(r) for r in (await wired.registry.get(tenant)).resources]


async def _existing(wired: Services, resources: list[Resource]) -> list[Resource]:
    """The resources the backends say exist (not what the registry says)."""
    found = []
    for resource in resources:
        provisioner = next(p for p in wired.controller.provisioners if p.kind is resource.kind)
        if await provisioner.exists(resource):
            found.append(resource)
    return found


async def _secret_rows(wired: Services, tenant: str) -> int:
    query = select(func.count()).where(SecretVersionRow.tenant_id == tenant)
    async with database.session_factory(wired.engine)() as db:
        return int(await db.scalar(query) or 0)


async def _purged(wired: Services, tenant: str, **options: object) -> Job:
    job = await wired.lifecycle.request(
        JobKind.DELETE, tenant, actor="test", options={"now": True, **options}
    )
    done = await wired.jobs.run(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED, done
    return done


async def test_a_delete_waits_for_retention_and_cancelling_it_gives_the_tenant_back(
    stack: Services,
) -> None:
    pair = await _pair(stack)
    job = await stack.lifecycle.request(JobKind.DELETE, pair.victim, actor="test")
    assert job.state is JobState.SCHEDULED and job.not_before is not None
    assert job.not_before - job.created_at == timedelta(days=30)
    assert await _state(stack, pair.victim) is LifecycleState.DELETING
    assert (await stack.registry.get(pair.victim)).deletion_requested_at == job.created_at
    with pytest.raises(TenantryError) as gone:
        await stack.scopes.open(_ctx(pair.victim, "prod"))
    assert (gone.value.kind, gone.value.code) == (ErrorKind.GONE, "tenant.deleted")
    assert await stack.jobs.run(job.id) is None  # not due: nothing runs
    assert await stack.jobs.due(limit=10) == []
    again = await stack.lifecycle.request(JobKind.DELETE, pair.victim, actor="test")
    assert again.id == job.id  # the same transition twice is one job
    cancelled = await stack.lifecycle.cancel(job.id)
    assert cancelled.state is JobState.CANCELLED
    assert await _state(stack, pair.victim) is LifecycleState.ACTIVE
    assert (await stack.registry.get(pair.victim)).deletion_requested_at is None
    for env in ENVS:
        await _read(stack, pair.victim, env)


async def test_a_delete_now_purges_everything_and_keeps_a_tombstone(stack: Services) -> None:
    pair = await _pair(stack)
    owned = await _resources(stack, pair.victim)
    assert len(await _existing(stack, owned)) == len(owned) >= 5
    stored = (await stack.registry.get(pair.victim)).placement or {}
    placed = {env: Placement.from_dict(p) for env, p in stored.items()}
    root = stack.settings.data_dir.resolve()
    assert Keyring(root).exists(pair.victim) and await _secret_rows(stack, pair.victim) == 2

    done = await _purged(stack, pair.victim)
    names_ = [s.name for s in done.steps]
    assert names_[0] == "inventory" and names_[-2:] == ["keys", "tombstone"]
    assert all(s.final for s in done.steps[1:]) and not done.steps[0].final
    tombstone = await stack.registry.get(pair.victim)
    assert tombstone.lifecycle_state is LifecycleState.DELETED
    assert tombstone.placement is None and tombstone.resources == []
    assert tombstone.environments == [] and tombstone.teams == []
    assert await _existing(stack, owned) == []
    assert not Keyring(root).exists(pair.victim) and await _secret_rows(stack, pair.victim) == 0
    assert await _leftover_runtime(stack, pair.victim, placed) == 0
    with pytest.raises(TenantryError) as gone:
        await stack.scopes.open(_ctx(pair.victim, "prod"))
    assert gone.value.code == "tenant.deleted"
    with pytest.raises(TenantryError) as refused:  # a tombstone is never deleted again
        await stack.lifecycle.request(JobKind.DELETE, pair.victim, actor="test")
    assert refused.value.code == "lifecycle.transition_refused"
    with pytest.raises(TenantryError) as reused:  # nor its id given to a new tenant
        await stack.registry.apply(Bundle(tenants={pair.victim: _spec(*ENVS)}))
    assert reused.value.code == "tenant.tombstoned"
    for env in ENVS:
        await _read(stack, pair.bystander, env)


async def _leftover_runtime(wired: Services, tenant: str, placed: dict[str, Placement]) -> int:
    """Session records, state values and objects of the tenant still stored, as the backends
    see them (not through a scope, which a deleted tenant no longer opens)."""
    backends = runtime(wired.settings, database.session_factory(wired.engine))
    try:
        count = 0
        for env, placement in placed.items():
            folder = names.session_folder(tenant, env, every_team=True)
            count += len(await backends.sessions.list(folder, limit=1000))
            scope = backends.bind(_ctx(tenant, env), placement)
            count += int(await scope.state.get("support", "s1") is not None)
            objects = backends.objects(placement.objects)
            count += len(await objects.list("", limit=1000))
        return count
    finally:
        await backends.close()


async def _protect(wired: Services, tenant: str) -> None:
    """``prevent_deletion: true`` in the tenant's spec (the other tenants are retained)."""
    protected = _spec(*ENVS).model_copy(update={"prevent_deletion": True})
    await wired.registry.apply(Bundle(tenants={tenant: protected}))


async def test_a_protected_tenant_is_not_deleted_without_force(stack: Services) -> None:
    pair = await _pair(stack)
    await _protect(stack, pair.victim)
    before = await stack.registry.get(pair.victim)
    with pytest.raises(TenantryError) as protected:
        await stack.lifecycle.request(JobKind.DELETE, pair.victim, actor="test")
    assert (protected.value.kind, protected.value.code) == (ErrorKind.CONFLICT, "tenant.protected")
    assert await stack.registry.get(pair.victim) == before
    assert await stack.lifecycle.list(tenant_id=pair.victim) == []
    await _read(stack, pair.victim, "prod")
    await _purged(stack, pair.victim, force=True)
    assert await _state(stack, pair.victim) is LifecycleState.DELETED


async def _copies(wired: Services, tenant: str) -> list[Copy]:
    """The tenant's sealed session, object and secret records as stored, read from the
    backends (files, or S3 and the control database)."""
    backends = runtime(wired.settings, database.session_factory(wired.engine))
    placements = (await wired.registry.get(tenant)).placement or {}
    found = []
    try:
        for env in ENVS:
            path = names.session_path(tenant, env, "support", "s1")
            blob = await backends.sessions.get(path)
            found.append(Copy(Binding(tenant, env, "session", path), blob.data))
            space = backends.objects(Placement.from_dict(placements[env]).objects)
            blob = await space.get("reports/q1.txt")
            found.append(Copy(Binding(tenant, env, FRAMED, "reports/q1.txt"), blob.data))
    finally:
        await backends.close()
    query = (
        select(SecretVersionRow)
        .where(SecretVersionRow.tenant_id == tenant)
        .order_by(SecretVersionRow.version)
    )
    async with database.session_factory(wired.engine)() as db:
        for row in (await db.scalars(query)).all():
            binding = Binding(tenant, ENV_MARKER, "secret", f"{row.path}#{row.version}")
            found.append(Copy(binding, bytes(row.sealed)))
    return found


class _Only:
    """A key source holding one key, handed out for any tenant and key id."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def active(self, tenant: str) -> tuple[str, bytes]:
        return "any", self._key

    def key(self, tenant: str, kid: str) -> bytes:
        return self._key


async def test_a_purged_tenants_copies_open_with_nothing_left_on_the_machine(
    stack: Services,
) -> None:
    pair = await _pair(stack)
    root = stack.settings.data_dir.resolve()
    Keyring(root).rotate(pair.victim)  # two key versions to shred
    victim, bystander = await _copies(stack, pair.victim), await _copies(stack, pair.bystander)
    assert len(victim) == len(bystander) == 6  # a session and an object per env, 2 secrets
    document = json.loads(Keyring(root).path(pair.victim).read_text())
    material = [version["key"] for version in document["versions"]]
    await _purged(stack, pair.victim)
    fresh = Keyring(root)  # a keyring over what is left of the data directory
    for copy in victim:
        with pytest.raises(Undecryptable):
            Sealer(fresh).open(copy.binding, copy.sealed)
    for tenant in fresh.tenants():  # every key left, of every tenant, in every version
        for kid in fresh.kids(tenant):
            sealer = Sealer(_Only(fresh.key(tenant, kid)))
            for copy in victim:
                with pytest.raises(Undecryptable):
                    sealer.open(copy.binding, copy.sealed)
    opened = [Sealer(fresh).open(copy.binding, copy.sealed) for copy in bystander]
    assert opened[1].endswith(b"quarter prod") and opened[-1] == f"{pair.bystander}-key".encode()
    for path in root.parent.rglob("*"):  # the data directory and a SQLite control database
        if path.is_file():
            held = path.read_bytes()
            assert not any(key.encode() in held for key in material), path


async def test_removing_an_environment_schedules_its_purge_which_removes_only_it(
    stack: Services,
) -> None:
    pair = await _pair(stack)
    await stack.registry.apply(Bundle(tenants={pair.victim: _spec("prod")}))
    assert (await stack.controller.reconcile(pair.victim)).result == "ready"
    jobs = await stack.lifecycle.list(tenant_id=pair.victim)
    assert [(j.kind, j.env_id, j.state) for j in jobs] == [
        (JobKind.DELETE, "staging", JobState.SCHEDULED)
    ]
    purge = jobs[0]
    assert purge.not_before is not None
    assert purge.not_before - purge.created_at == timedelta(days=30)
    assert await _state(stack, pair.victim) is LifecycleState.ACTIVE
    suspended = await stack.lifecycle.request(JobKind.SUSPEND, pair.victim, actor="test")
    assert suspended.state is JobState.QUEUED  # the tenant's own slot is free
    assert (await stack.jobs.run(suspended.id)) is not None
    resumed = await stack.lifecycle.request(JobKind.RESUME, pair.victim, actor="test")
    assert (await stack.jobs.run(resumed.id)) is not None
    staging = [r for r in await _resources(stack, pair.victim) if r.env_id == "staging"]
    others = [r for r in await _resources(stack, pair.victim) if r.env_id != "staging"]
    assert staging and len(await _existing(stack, staging)) == len(staging)

    await stack.lifecycle.cancel(purge.id)
    done = await _purged(stack, pair.victim, env="staging")
    assert done.env_id == "staging" and "keys" not in [s.name for s in done.steps]
    assert await _state(stack, pair.victim) is LifecycleState.ACTIVE
    assert await _existing(stack, staging) == []
    assert await _existing(stack, others) == others
    assert sorted(await _resources(stack, pair.victim)) == sorted(others)
    detail = await stack.registry.get(pair.victim)
    assert detail.orphaned == []
    assert {c.type: c.status for c in detail.conditions}["Orphaned"] == "False"
    await _read(stack, pair.victim, "prod")
    for env in ENVS:
        await _read(stack, pair.bystander, env)
    await stack.registry.apply(Bundle(tenants={pair.victim: _spec(*ENVS)}))  # back, empty
    assert (await stack.controller.reconcile(pair.victim)).result == "ready"
    scope = await stack.scopes.open(_ctx(pair.victim, "staging"))
    assert await scope.state.get("support", "s1") is None
    assert await scope.search.search("invoice") == []


async def test_an_environment_added_back_before_its_purge_cancels_it(stack: Services) -> None:
    pair = await _pair(stack)
    await stack.registry.apply(Bundle(tenants={pair.victim: _spec("prod")}))
    assert (await stack.controller.reconcile(pair.victim)).result == "ready"
    (purge,) = await stack.lifecycle.list(tenant_id=pair.victim)
    await stack.registry.apply(Bundle(tenants={pair.victim: _spec(*ENVS)}))
    assert (await stack.controller.reconcile(pair.victim)).result == "ready"
    assert (await stack.lifecycle.get(purge.id)).state is JobState.CANCELLED
    assert await _state(stack, pair.victim) is LifecycleState.ACTIVE
    for env in ENVS:
        await _read(stack, pair.victim, env)


async def test_prune_schedules_the_delete_and_applying_the_tenant_again_cancels_it(
    stack: Services,
) -> None:
    pair = await _pair(stack)
    only = Bundle(tenants={pair.bystander: _spec(*ENVS)})
    await stack.registry.apply(only, prune=True)
    (job,) = await stack.lifecycle.list(tenant_id=pair.victim)
    assert (job.kind, job.state, job.requested_by) == (
        JobKind.DELETE,
        JobState.SCHEDULED,
        "apply --prune",
    )
    assert await _state(stack, pair.victim) is LifecycleState.DELETING
    both = Bundle(tenants={pair.victim: _spec(*ENVS), pair.bystander: _spec(*ENVS)})
    await stack.registry.apply(both)
    assert (await stack.lifecycle.get(job.id)).state is JobState.CANCELLED
    assert await _state(stack, pair.victim) is LifecycleState.ACTIVE
    await _read(stack, pair.victim, "prod")
    await _protect(stack, pair.bystander)
    with pytest.raises(TenantryError) as protected:  # the whole apply is refused
        await stack.registry.apply(Bundle(tenants={pair.victim: _spec(*ENVS)}), prune=True)
    assert protected.value.code == "tenant.protected"
    assert await _state(stack, pair.bystander) is LifecycleState.ACTIVE
    assert await stack.lifecycle.list(tenant_id=pair.bystander) == []


async def purged(wired: Services, tenant: str, envs: tuple[str, ...]) -> None:
    """The tenant is a tombstone and nothing of it is left in any backend."""
    detail = await wired.registry.get(tenant)
    assert detail.lifecycle_state is LifecycleState.DELETED
    assert detail.resources == [] and detail.placement is None
    assert not Keyring(wired.settings.data_dir.resolve()).exists(tenant)
    query = select(func.count()).where(SecretVersionRow.tenant_id == tenant)
    async with database.session_factory(wired.engine)() as db:
        assert await db.scalar(query) == 0
    backends = runtime(wired.settings, database.session_factory(wired.engine))
    try:
        for env in envs:
            placement = place(Profile(detail.profile), tenant, env, wired.controller.layout)
            for provisioner in wired.controller.provisioners:
                wanted: Resource | None = provisioner.wanted(placement)
                assert wanted is None or not await provisioner.exists(wanted), wanted
            folder = names.session_folder(tenant, env, every_team=True)
            assert await backends.sessions.list(folder, limit=10) == []
            scope = backends.bind(_ctx(tenant, env), placement)
            assert await scope.state.get("support", "s1") is None
    finally:
        await backends.close()


async def _archive_copies(wired: Services, tenant: str) -> list[Copy]:
    """Every file of the tenant's archive area, as stored, with its binding."""
    space = archives(wired.settings).space(tenant)
    found = []
    for key in await space.list("", limit=1000):
        binding = Binding(tenant, "*", "archive", key)
        found.append(Copy(binding, (await space.get(key)).data))
    return found


async def test_an_archived_tenants_archive_files_are_removed_and_their_copies_shredded(
    stack: Services,
) -> None:
    pair = await _pair(stack)
    for tenant in (pair.victim, pair.bystander):
        archived = await stack.lifecycle.request(JobKind.ARCHIVE, tenant, actor="test")
        done = await stack.jobs.run(archived.id)
        assert done is not None and done.state is JobState.SUCCEEDED, done
    victim = await _archive_copies(stack, pair.victim)
    bystander = await _archive_copies(stack, pair.bystander)
    assert victim and len(victim) == len(bystander)
    assert Sealer(Keyring(stack.settings.data_dir.resolve())).open(
        victim[0].binding, victim[0].sealed
    )
    await _purged(stack, pair.victim)
    assert await archives(stack.settings).space(pair.victim).list("", limit=10) == []
    fresh = Keyring(stack.settings.data_dir.resolve())
    for copy in victim:
        with pytest.raises(Undecryptable):
            Sealer(fresh).open(copy.binding, copy.sealed)
    for copy in bystander:
        Sealer(fresh).open(copy.binding, copy.sealed)

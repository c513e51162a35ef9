"""Reconciling real resources on the embedded default and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import nats
import psycopg
import pytest

from tenantry.bootstrap import Services, provisioners, services
from tenantry.core.errors import Unavailable
from tenantry.core.settings import Settings
from tenantry.tenancy.controller.resources import Kind, Provisioner, Resource
from tenantry.tenancy.controller.service import Controller
from tenantry.tenancy.isolation.strategies import Layout
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Profile
from tests.conftest import EXAMPLE_BUNDLE, NATS_URL


def example() -> Bundle:
    return loader.load([EXAMPLE_BUNDLE])


def only_acme(**update: object) -> Bundle:
    acme = example().tenants["acme"].model_copy(update=update)
    return Bundle(tenants={"acme": acme})


def actual(wired: Services, tenant: str = "acme") -> set[tuple[str, str]]:
    """What really exists on the backends for a tenant, listed independently of the registry."""
    root = wired.settings.data_dir.resolve()
    found = {("key", p.stem) for p in (root / "keys").glob(f"{tenant}.json")}
    found |= {
        ("objects", str(p.relative_to(root / "objects" / "shared")) + "/")
        for p in (root / "objects" / "shared" / "tenants" / tenant).glob("*")
    }
    found |= {("objects", p.name) for p in (root / "objects" / "buckets").glob(f"*-{tenant}--*")}
    url = wired.settings.tenant_postgres_url()
    if url is None:
        found |= {
            ("relational", str(p.relative_to(root)))
            for p in (root / "tenants" / tenant).glob("*.sqlite3")
        }
        return found
    with psycopg.connect(url.replace("+psycopg", "")) as db:
        like = f"t\\_{tenant.replace('-', '_')}\\_\\_%"
        schemas = db.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (like,))
        found |= {("relational", row[0]) for row in schemas}
        roles = db.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"tr\\_{tenant}\\_\\_%",)
        )
        found |= {("role", row[0]) for row in roles}
    return found


def recorded(resources: list[dict[str, object]]) -> set[tuple[str, str]]:
    names = {(str(r["kind"]), str(r["name"])) for r in resources}
    roles = {
        ("role", "tr_acme__" + str(r["env_id"]).replace("-", "_"))
        for r in resources
        if r["kind"] == "relational" and r["variant"] == "shared-schema"
    }
    return names | roles


async def test_reconcile_makes_every_resource_and_is_then_a_no_op(wired: Services) -> None:
    await wired.registry.apply(example())
    first = {
        o.tenant_id: o
        for o in [await wired.controller.reconcile(t) for t in await wired.controller.due()]
    }
    assert {o.result for o in first.values()} == {"ready"}
    acme = await wired.registry.get("acme")
    assert acme.lifecycle_state == "active" and acme.observed_generation == 1
    assert acme.ready is True
    assert set(acme.placement or {}) == {"prod", "staging"}
    assert actual(wired) == recorded(acme.resources)
    assert await wired.controller.due() == []
    again = await wired.controller.reconcile("acme")
    assert again.result == "ready" and again.steps == ()


async def test_removed_environment_is_orphaned_and_drift_repaired(wired: Services) -> None:
    await wired.registry.apply(only_acme())
    await wired.controller.reconcile("acme")
    before = actual(wired)
    await wired.registry.apply(only_acme(environments=[Environment(id="prod")]))
    outcome = await wired.controller.reconcile("acme")
    assert outcome.result == "ready"
    assert outcome.steps and all(step.startswith("orphan ") for step in outcome.steps)
    acme = await wired.registry.get("acme")
    assert actual(wired) == before == recorded(acme.resources)  # nothing removed
    assert {r["env_id"] for r in acme.orphaned} == {"staging"}
    assert {r["orphaned"] for r in acme.orphaned} == {"EnvironmentRemoved"}
    assert set(acme.placement or {}) == {"prod"}
    assert (await wired.controller.reconcile("acme")).steps == ()  # recorded once
    key = wired.settings.data_dir.resolve() / "keys" / "acme.json"
    key.unlink()  # drift: a resource vanished behind our back
    repaired = await wired.controller.reconcile("acme")
    assert repaired.steps == ("ensure key acme (acme/*)",)
    assert key.is_file()


async def test_profile_change_keeps_the_stored_placement_until_migrated(wired: Services) -> None:
    await wired.registry.apply(only_acme())
    await wired.controller.reconcile("acme")
    before, placed = actual(wired), (await wired.registry.get("acme")).placement
    preview = await wired.controller.preview("acme", Profile.ST_DEDICATED, ["prod", "staging"])
    assert preview and all(str(step).startswith("keep ") for step in preview)
    await wired.registry.apply(only_acme(profile=Profile.ST_DEDICATED))
    outcome = await wired.controller.reconcile("acme")
    assert outcome.result == "ready" and all(s.startswith("keep ") for s in outcome.steps)
    acme = await wired.registry.get("acme")
    assert actual(wired) == before and acme.placement == placed and acme.orphaned == []
    assert acme.observed_generation == acme.generation == 2 and acme.ready is True
    moving = next(c for c in acme.conditions if c.type == "MigrationRequired")
    assert (moving.status, moving.reason) == ("True", "ProfileChanged")
    assert "prod: mt-standard -> st-dedicated" in moving.message
    (job,) = await wired.lifecycle.list(tenant_id="acme")  # the reconcile started a migration
    assert job.kind == "migrate" and outcome.moves
    await wired.lifecycle.cancel(job.id)  # cancelled before it ran: the tenant is active again
    await wired.registry.apply(only_acme())  # changed back: nothing left to migrate
    assert (await wired.controller.reconcile("acme")).steps == ()
    acme = await wired.registry.get("acme")
    assert {c.type: c.status for c in acme.conditions}["MigrationRequired"] == "False"


async def test_unsupported_profile_fails_until_the_spec_changes(wired: Services) -> None:
    await wired.registry.apply(only_acme(profile=Profile.ST_BYOC))
    outcome = await wired.controller.reconcile("acme")
    assert outcome.result == "failed" and "customer" in outcome.message
    acme = await wired.registry.get("acme")
    assert {c.type: c.status for c in acme.conditions}["Failed"] == "True"
    assert await wired.controller.due() == []
    await wired.registry.apply(only_acme())
    assert await wired.controller.due() == ["acme"]
    assert (await wired.controller.reconcile("acme")).result == "ready"


async def test_unreachable_tenant_database_degrades_and_retries(wired: Services) -> None:
    await wired.registry.apply(only_acme())
    broken = [
        p if p.kind is not Kind.RELATIONAL else _Unreachable(p)
        for p in provisioners(wired.settings)
    ]
    controller = Controller(wired.engine, broken)
    outcome = await controller.reconcile("acme")
    await controller.close()
    assert outcome.result == "degraded"
    acme = await wired.registry.get("acme")
    assert {c.type: c.status for c in acme.conditions}["Degraded"] == "True"
    assert acme.observed_generation == 0 and await wired.controller.due() == ["acme"]
    assert (await wired.controller.reconcile("acme")).result == "ready"


class _Unreachable:
    def __init__(self, inner: Provisioner) -> None:
        self.kind, self.wanted, self.close = inner.kind, inner.wanted, inner.close

    async def exists(self, resource: Resource) -> bool:
        raise Unavailable("connection refused (test)")

    ensure = retire = exists  # type: ignore[assignment]


class Killed(BaseException):
    """Stands for SIGKILL: nothing in the controller catches it."""


class _Dying:
    """Let ``budget`` actions through, then die before or after the next one."""

    def __init__(self, inner: Provisioner, budget: list[int], after: bool) -> None:
        self.kind, self.wanted, self.exists = inner.kind, inner.wanted, inner.exists
        self.close = inner.close
        self._inner, self._budget, self._after = inner, budget, after

    async def ensure(self, resource: Resource) -> None:
        self._budget[0] -= 1
        if self._budget[0] < 0 and not self._after:
            raise Killed
        await self._inner.ensure(resource)
        if self._budget[0] < 0:
            raise Killed

    async def retire(self, resource: Resource) -> None:
        raise AssertionError(f"a reconcile retired {resource}")


@pytest.fixture(params=[False, True], ids=["before-action", "after-action"])
def after(request: pytest.FixtureRequest) -> Iterator[bool]:
    yield request.param


@pytest.mark.parametrize("survive", range(5))
async def test_killed_mid_reconcile_converges_without_orphans(
    wired: Services, survive: int, after: bool
) -> None:
    await wired.registry.apply(only_acme())
    budget = [survive]
    dying = [_Dying(p, budget, after) for p in provisioners(wired.settings)]
    killed = Controller(wired.engine, dying)
    with pytest.raises(Killed):
        await killed.reconcile("acme")
    await killed.close()
    restarted = Controller(wired.engine, provisioners(wired.settings))
    assert (await restarted.reconcile("acme")).result == "ready"
    await restarted.close()
    acme = await wired.registry.get("acme")
    assert actual(wired) == recorded(acme.resources)
    assert len(acme.resources) == 5  # key + 2 x relational + 2 x objects, nothing twice


async def test_reconcile_with_jetstream(settings: Settings) -> None:
    stream_settings = settings.model_copy(update={"nats_url": NATS_URL})
    async with services(stream_settings) as wired:
        await wired.registry.apply(example())
        for tenant in ("acme", "bigcorp"):
            assert (await wired.controller.reconcile(tenant)).result == "ready"
        messaging = [
            Resource.from_dict(r)
            for t in ("acme", "bigcorp")
            for r in (await wired.registry.get(t)).resources
            if r["kind"] == "messaging"
        ]
        assert {r.name for r in messaging} == {
            "c_acme__prod",
            "c_acme__staging",
            "tenantry_bigcorp__prod",
            "tenantry_bigcorp__dev",
        }
        client = await nats.connect(NATS_URL)
        try:
            js = client.jetstream()
            shared = await js.stream_info(Layout().shared_stream_of("acme", "prod"))
            assert "greentic.messaging.*.prod.acme.>" in (shared.config.subjects or [])
            dedicated = await js.stream_info("tenantry_bigcorp__prod")
            assert dedicated.config.subjects == ["greentic.messaging.*.prod.bigcorp.>"]
        finally:
            await client.close()
        provisioner = next(p for p in provisioners(stream_settings) if p.kind is Kind.MESSAGING)
        for resource in messaging:
            await provisioner.retire(resource)
            assert not await provisioner.exists(resource)
        await provisioner.close()

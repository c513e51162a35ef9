"""Stored plans, tenant sources and tombstones in the registry, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tenantry.bootstrap import Services
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.errors import PlanNotFound, TenantExists, TenantTombstoned
from tenantry.tenancy.registry.models import PlanRow, TenantRow
from tenantry.tenancy.registry.plan import Action
from tests.integration.registry.support import example, rows, snapshot


def _spec(**fields: object) -> TenantSpec:
    return TenantSpec.model_validate({"name": "Zeta", **fields})


async def _set_state(services: Services, tenant_id: str, state: str) -> None:
    async with database.session_factory(services.engine)() as session, session.begin():
        await session.execute(
            update(TenantRow).where(TenantRow.id == tenant_id).values(lifecycle_state=state)
        )


async def test_apply_stores_the_bundles_plans_once(ticking: Services) -> None:
    result = await ticking.registry.apply(example(), source="examples/bundle")
    assert [(p.name, p.action) for p in result.plans] == [("enterprise", Action.CREATED)]
    (row,) = await rows(ticking, PlanRow)
    assert (row.name, row.source, row.limits["rate"]) == ("enterprise", "examples/bundle", 200.0)
    before = await snapshot(ticking)
    again = await ticking.registry.apply(example(), source="elsewhere")
    assert not again.has_changes and [p.action for p in again.plans] == [Action.UNCHANGED]
    assert await snapshot(ticking) == before


async def test_a_changed_plan_is_stored_and_an_absent_one_kept(ticking: Services) -> None:
    await ticking.registry.apply(example())
    bundle = example()
    cheaper = Bundle(
        tenants=bundle.tenants,
        plans={"enterprise": LimitsSpec(rate=100), "lite": LimitsSpec(burst=5)},
    )
    planned = await ticking.registry.plan(cheaper)
    assert [(p.name, p.action) for p in planned.plans] == [
        ("enterprise", Action.CHANGED),
        ("lite", Action.CREATED),
    ]
    await ticking.registry.apply(cheaper)
    await ticking.registry.apply(Bundle(tenants=bundle.tenants))  # defines no plan
    stored = {row.name: row.limits for row in await rows(ticking, PlanRow)}
    assert stored == {"enterprise": {"rate": 100.0}, "lite": {"burst": 5}}
    names = [plan.name for plan in await ticking.registry.plans()]
    assert names == ["enterprise", "lite", "standard"]


async def test_prune_leaves_tenants_created_over_the_api(ticking: Services) -> None:
    await ticking.registry.apply(example())
    await ticking.registry.create("zeta", _spec())
    only_acme = Bundle(tenants={"acme": example().tenants["acme"]})
    pruned = await ticking.registry.apply(only_acme, prune=True)
    assert [(c.tenant_id, c.action, c.note) for c in pruned.changes] == [
        ("acme", Action.UNCHANGED, ""),
        ("bigcorp", Action.REMOVED, "marked for deletion"),
        ("zeta", Action.RETAINED, "created over the API; --prune leaves it"),
    ]
    marked = {t.id: t.marked_for_deletion for t in await ticking.registry.list()}
    assert marked == {"acme": False, "bigcorp": True, "zeta": False}
    sources = {t.id: t.source.value for t in await ticking.registry.list()}
    assert sources == {"acme": "bundle", "bigcorp": "bundle", "zeta": "api"}


async def test_an_api_tenant_in_a_bundle_is_applied_and_keeps_its_source(
    ticking: Services,
) -> None:
    await ticking.registry.create("zeta", _spec())
    result = await ticking.registry.apply(Bundle(tenants={"zeta": _spec(name="Zeta Two")}))
    assert [(c.action, c.generation) for c in result.changes] == [(Action.CHANGED, 2)]
    tenant = await ticking.registry.get("zeta")
    assert (tenant.name, tenant.source.value) == ("Zeta Two", "api")


async def test_create_resolves_stored_plans_and_refuses_unknown_ones(ticking: Services) -> None:
    await ticking.registry.apply(example())
    before = await snapshot(ticking)
    with pytest.raises(PlanNotFound) as caught:
        await ticking.registry.create("zeta", _spec(plan="gold"))
    assert "enterprise" in caught.value.message and "standard" in caught.value.message
    assert await snapshot(ticking) == before
    created = await ticking.registry.create("zeta", _spec(plan="enterprise"))
    assert not created.replayed and created.tenant.plan == "enterprise"
    (row,) = [r for r in await rows(ticking, TenantRow) if r.id == "zeta"]
    assert row.spec["limits"]["rate"] == 200.0
    with pytest.raises(TenantExists):
        await ticking.registry.create("zeta", _spec())


async def test_tombstones_are_refused_by_apply_plan_create_and_replace(ticking: Services) -> None:
    await ticking.registry.apply(example())
    await _set_state(ticking, "bigcorp", "deleted")
    before = await snapshot(ticking)
    for attempt in (
        ticking.registry.apply(example()),
        ticking.registry.plan(example()),
        ticking.registry.create("bigcorp", _spec()),
        ticking.registry.replace("bigcorp", _spec()),
    ):
        with pytest.raises(TenantTombstoned) as caught:
            await attempt
        assert caught.value.code == "tenant.tombstoned" and "'bigcorp'" in caught.value.message
    assert await snapshot(ticking) == before
    # Absent from a bundle, a tombstone is no change, even with --prune; its row stays.
    only_acme = Bundle(tenants={"acme": example().tenants["acme"]})
    result = await ticking.registry.apply(only_acme, prune=True)
    assert [c.tenant_id for c in result.changes] == ["acme"] and not result.has_changes
    assert (await ticking.registry.get("bigcorp")).lifecycle_state == "deleted"


async def test_prevent_deletion_is_stored_and_absent_when_false(ticking: Services) -> None:
    await ticking.registry.create("zeta", _spec(prevent_deletion=True))
    await ticking.registry.create("eta", _spec())
    specs = {r.id: r.spec for r in await rows(ticking, TenantRow)}
    assert specs["zeta"]["prevent_deletion"] is True and "prevent_deletion" not in specs["eta"]
    assert (await ticking.registry.get("zeta")).prevent_deletion
    assert not (await ticking.registry.get("eta")).prevent_deletion

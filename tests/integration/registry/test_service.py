"""The registry service on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from tenantry.bootstrap import Services, services
from tenantry.core.errors import ErrorKind
from tenantry.core.ids import InvalidId
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Bundle, Flow, Team, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.errors import FlowVersionConflict, TenantNotFound
from tenantry.tenancy.registry.models import (
    AppliedManifestRow,
    ChannelRow,
    FlowRow,
    TeamRow,
    TenantRow,
)
from tenantry.tenancy.registry.plan import Action
from tests.conftest import EXAMPLE_BUNDLE


def example() -> Bundle:
    return loader.load([EXAMPLE_BUNDLE])


def with_tenant(bundle: Bundle, tenant_id: str, **update: Any) -> Bundle:
    tenants = dict(bundle.tenants)
    tenants[tenant_id] = tenants[tenant_id].model_copy(update=update)
    return Bundle(tenants=tenants)


async def snapshot(wired: Services) -> dict[str, Any]:
    async with database.session_factory(wired.engine)() as session:
        tenants = (await session.scalars(select(TenantRow).order_by(TenantRow.id))).all()
        applied = await session.scalar(select(func.count()).select_from(AppliedManifestRow))
        flows = await session.scalar(select(func.count()).select_from(FlowRow))
        return {
            "tenants": [(t.id, t.generation, t.updated_at, t.spec_hash) for t in tenants],
            "applied": applied,
            "flows": flows,
        }


async def rows(wired: Services, model: Any, tenant_id: str) -> list[Any]:
    async with database.session_factory(wired.engine)() as session:
        return list(
            (await session.scalars(select(model).where(model.tenant_id == tenant_id))).all()
        )


async def test_apply_creates_tenants_pending_reconcile(wired: Services) -> None:
    plan = await wired.registry.apply(example(), source="examples/bundle")
    assert [(c.tenant_id, c.action, c.generation) for c in plan.changes] == [
        ("acme", Action.CREATED, 1),
        ("bigcorp", Action.CREATED, 1),
    ]
    acme = await wired.registry.get("acme")
    assert acme.lifecycle_state == "pending" and acme.generation == 1
    assert acme.observed_generation == 0
    assert (acme.conditions[0].type, acme.conditions[0].status) == ("Ready", "Unknown")
    assert acme.conditions[0].reason == "AwaitingReconcile"
    assert acme.created_at.tzinfo is not None
    assert await wired.controller.due() == ["acme", "bigcorp"]


async def test_applying_twice_writes_nothing(wired: Services) -> None:
    await wired.registry.apply(example())
    before = await snapshot(wired)
    again = await wired.registry.apply(example())
    assert not again.has_changes
    assert {c.action for c in again.changes} == {Action.UNCHANGED}
    assert await snapshot(wired) == before
    assert before["applied"] == 1


async def test_a_changed_tenant_bumps_only_its_generation(wired: Services) -> None:
    await wired.registry.apply(example())
    acme = example().tenants["acme"]
    teams = {"support": acme.teams["support"].model_copy(update={"name": "Help"})}
    changed = with_tenant(example(), "acme", teams=teams)
    plan = await wired.registry.plan(changed)
    assert await snapshot(wired) == await snapshot(wired)
    acme_change = next(c for c in plan.changes if c.tenant_id == "acme")
    paths = {f.path for f in acme_change.changes}
    assert "teams.support.name" in paths and "teams.sales" in paths
    await wired.registry.apply(changed)
    listing = {t.id: t for t in await wired.registry.list()}
    assert (listing["acme"].generation, listing["bigcorp"].generation) == (2, 1)
    assert [t.id for t in await rows(wired, TeamRow, "acme")] == ["support"]
    assert {c.team_id for c in await rows(wired, ChannelRow, "acme")} == {"support"}


async def test_prune_marks_and_reapply_cancels(wired: Services) -> None:
    await wired.registry.apply(example())
    only_acme = Bundle(tenants={"acme": example().tenants["acme"]})
    kept = await wired.registry.apply(only_acme)
    assert next(c for c in kept.changes if c.tenant_id == "bigcorp").action is Action.RETAINED
    assert not kept.has_changes
    pruned = await wired.registry.apply(only_acme, prune=True)
    assert next(c for c in pruned.changes if c.tenant_id == "bigcorp").action is Action.REMOVED
    bigcorp = await wired.registry.get("bigcorp")
    assert bigcorp.marked_for_deletion and bigcorp.deletion_requested_at is not None
    back = await wired.registry.apply(example())
    assert next(c for c in back.changes if c.tenant_id == "bigcorp").note == "deletion cancelled"
    assert not (await wired.registry.get("bigcorp")).marked_for_deletion


async def test_changed_flow_without_new_version_conflicts_and_rolls_back(wired: Services) -> None:
    await wired.registry.apply(example())
    before = await snapshot(wired)
    acme = example().tenants["acme"]
    flow = acme.flows["acme_support_flow"]
    edited = flow.model_copy(update={"description": "edited"})
    bundle = with_tenant(example(), "acme", flows={flow.name: edited})
    bundle = with_tenant(bundle, "bigcorp", name="BigCorp Renamed")
    with pytest.raises(FlowVersionConflict) as caught:
        await wired.registry.apply(bundle)
    assert caught.value.kind is ErrorKind.CONFLICT
    assert await snapshot(wired) == before
    assert (await wired.registry.get("bigcorp")).name == "BigCorp Inc."


async def test_new_flow_version_is_kept_beside_the_old(wired: Services) -> None:
    await wired.registry.apply(example())
    flow = example().tenants["acme"].flows["acme_support_flow"]
    newer = Flow.model_validate({**flow.model_dump(), "version": "1.1"})
    await wired.registry.apply(with_tenant(example(), "acme", flows={flow.name: newer}))
    versions = sorted(r.version for r in await rows(wired, FlowRow, "acme"))
    assert versions == ["1.0", "1.1"]
    assert (await wired.registry.get("acme")).flows[0].version == "1.1"


@pytest.mark.parametrize("bad", ["ACME", "a/b", "a..b", ""])
async def test_get_validates_ids(wired: Services, bad: str) -> None:
    with pytest.raises(InvalidId):
        await wired.registry.get(bad)


async def test_get_unknown(wired: Services) -> None:
    with pytest.raises(TenantNotFound) as caught:
        await wired.registry.get("nope")
    assert caught.value.code == "tenant.not_found"


async def test_list_is_ordered_by_id(wired: Services) -> None:
    specs = {tid: TenantSpec(name=tid, teams={"t": Team()}) for tid in ("zeta", "alpha", "mid")}
    await wired.registry.apply(Bundle(tenants=specs))
    assert [t.id for t in await wired.registry.list()] == ["alpha", "mid", "zeta"]


async def test_concurrent_applies_serialise(settings: Settings) -> None:
    first = Bundle(tenants={"acme": TenantSpec(name="First")})
    second = Bundle(tenants={"acme": TenantSpec(name="Second")})
    async with services(settings) as one, services(settings) as two:
        await asyncio.gather(one.registry.apply(first), two.registry.apply(second))
        acme = await one.registry.get("acme")
    assert acme.name in {"First", "Second"}
    assert acme.generation in {1, 2}

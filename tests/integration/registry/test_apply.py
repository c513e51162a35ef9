"""Applying bundles on SQLite and PostgreSQL: create, re-apply, change, plan, prune."""

from __future__ import annotations

import shutil
from pathlib import Path

from tenantry.bootstrap import Services
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Team, TenantSpec
from tenantry.tenancy.registry.models import (
    AppliedManifestRow,
    ChannelRow,
    EnvironmentRow,
    FlowRow,
    TeamRow,
)
from tenantry.tenancy.registry.plan import Action
from tests.conftest import EXAMPLE_BUNDLE
from tests.integration.registry.support import (
    count,
    example,
    rows,
    snapshot,
    updated_at,
    with_tenant,
)


async def test_apply_creates_every_tenant_pending_at_generation_one(ticking: Services) -> None:
    result = await ticking.registry.apply(example(), source="examples/bundle")
    assert [(c.tenant_id, c.action, c.generation, c.note) for c in result.changes] == [
        ("acme", Action.CREATED, 1, ""),
        ("bigcorp", Action.CREATED, 1, ""),
    ]
    assert result.has_changes and result.count(Action.CREATED) == 2
    for tenant_id in ("acme", "bigcorp"):
        tenant = await ticking.registry.get(tenant_id)
        assert (tenant.generation, tenant.observed_generation) == (1, 0)
        assert tenant.lifecycle_state == "pending" and tenant.ready is None
        assert not tenant.marked_for_deletion and tenant.deletion_requested_at is None
        (ready,) = tenant.conditions
        assert (ready.type, ready.status, ready.reason) == ("Ready", "Unknown", "AwaitingReconcile")
        assert tenant.created_at == tenant.updated_at == ready.last_transition_time
    (record,) = await rows(ticking, AppliedManifestRow)
    assert record.source == "examples/bundle"
    assert record.summary == {
        "created": 2,
        "changed": 0,
        "unchanged": 0,
        "removed": 0,
        "retained": 0,
    }
    assert sorted(record.bundle) == ["acme", "bigcorp"]


async def test_apply_stores_the_projections_of_the_spec(ticking: Services) -> None:
    await ticking.registry.apply(example())
    envs = await rows(ticking, EnvironmentRow, "acme")
    assert sorted((e.position, e.id, e.name) for e in envs) == [
        (0, "prod", "Production"),
        (1, "staging", "Staging"),
    ]
    teams = [(t.id, t.name, t.flow) for t in await rows(ticking, TeamRow, "acme")]
    assert teams == [
        ("sales", "Sales Team", None),
        ("support", "Customer Support", "acme_support_flow"),
    ]
    channels = [(c.team_id, c.id, c.provider) for c in await rows(ticking, ChannelRow, "acme")]
    assert channels == [
        ("sales", "teams", "messaging-teams"),
        ("support", "slack", "messaging-slack"),
        ("support", "telegram", "messaging-telegram"),
        ("support", "webchat", "messaging-webchat"),
    ]
    flows = [(f.tenant_id, f.name, f.version) for f in await rows(ticking, FlowRow)]
    assert flows == [
        ("acme", "acme_support_flow", "1.0"),
        ("bigcorp", "bigcorp_helpdesk_flow", "1.0"),
    ]
    bigcorp = await ticking.registry.get("bigcorp")
    assert [(t.id, [c.flow for c in t.channels]) for t in bigcorp.team_details] == [
        ("helpdesk", ["bigcorp_helpdesk_flow"])
    ]
    assert [(e.id, e.name) for e in bigcorp.environment_details] == [
        ("prod", "Production"),
        ("dev", "Development"),
    ]


async def test_applying_the_same_bundle_again_writes_nothing(ticking: Services) -> None:
    await ticking.registry.apply(example())
    before = await snapshot(ticking)
    for _ in range(2):
        again = await ticking.registry.apply(example(), source="again")
        assert [(c.action, c.generation) for c in again.changes] == [(Action.UNCHANGED, 1)] * 2
        assert not again.has_changes
        assert await snapshot(ticking) == before
    assert len(before["applied_manifests"]) == 1


async def test_plan_writes_nothing(ticking: Services) -> None:
    empty = await snapshot(ticking)
    planned = await ticking.registry.plan(example(), prune=True)
    assert [c.action for c in planned.changes] == [Action.CREATED] * 2
    assert await snapshot(ticking) == empty
    applied = await ticking.registry.apply(example())
    assert applied == planned
    before = await snapshot(ticking)
    renamed = with_tenant(example(), "acme", name="ACME Renamed")
    planned = await ticking.registry.plan(
        Bundle(tenants={"acme": renamed.tenants["acme"]}), prune=True
    )
    assert [(c.tenant_id, c.action) for c in planned.changes] == [
        ("acme", Action.CHANGED),
        ("bigcorp", Action.REMOVED),
    ]
    assert await snapshot(ticking) == before


async def test_a_renamed_environment_changes_only_that_tenant(ticking: Services) -> None:
    await ticking.registry.apply(example())
    stamps = await updated_at(ticking)
    envs = [Environment(id="prod", name="Production"), Environment(id="staging", name="Pre-prod")]
    changed = with_tenant(example(), "acme", environments=envs)
    result = await ticking.registry.apply(changed)
    acme, bigcorp = result.changes
    assert (acme.action, acme.generation, bigcorp.action) == (Action.CHANGED, 2, Action.UNCHANGED)
    assert [(f.path, f.before, f.after) for f in acme.changes] == [
        ("environments.staging.name", "Staging", "Pre-prod")
    ]
    listing = {t.id: t for t in await ticking.registry.list()}
    assert (listing["acme"].generation, listing["bigcorp"].generation) == (2, 1)
    after = await updated_at(ticking)
    assert after["bigcorp"] == stamps["bigcorp"] and after["acme"] > stamps["acme"]
    assert [e.name for e in await rows(ticking, EnvironmentRow, "acme")] == [
        "Production",
        "Pre-prod",
    ]
    assert await count(ticking, AppliedManifestRow) == 2


async def test_an_edited_team_file_changes_only_its_tenant(
    ticking: Services, tmp_path: Path
) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(EXAMPLE_BUNDLE, copy)
    await ticking.registry.apply(loader.load([copy]))
    stamps = await updated_at(ticking)
    team_file = copy / "teams" / "bigcorp-helpdesk.yaml"
    team_file.write_text(team_file.read_text().replace('"Helpdesk"', '"Service Desk"'))
    result = await ticking.registry.apply(loader.load([copy]))
    assert [(c.tenant_id, c.action, c.generation) for c in result.changes] == [
        ("acme", Action.UNCHANGED, 1),
        ("bigcorp", Action.CHANGED, 2),
    ]
    (field,) = result.changes[1].changes
    assert (field.path, field.before, field.after) == (
        "teams.helpdesk.name",
        "Helpdesk",
        "Service Desk",
    )
    after = await updated_at(ticking)
    assert after["acme"] == stamps["acme"] and after["bigcorp"] > stamps["bigcorp"]
    assert [t.name for t in await rows(ticking, TeamRow, "bigcorp")] == ["Service Desk"]
    assert [c.id for c in await rows(ticking, ChannelRow, "bigcorp")] == ["webchat"]


async def test_a_removed_team_disappears_with_its_channels(ticking: Services) -> None:
    await ticking.registry.apply(example())
    acme = example().tenants["acme"]
    teams = {"support": acme.teams["support"], "billing": Team(name="Billing")}
    result = await ticking.registry.apply(with_tenant(example(), "acme", teams=teams))
    paths = [f.path for f in result.changes[0].changes]
    assert paths == ["teams.billing", "teams.sales"]
    assert [t.id for t in await rows(ticking, TeamRow, "acme")] == ["billing", "support"]
    channels = await rows(ticking, ChannelRow, "acme")
    assert [(c.team_id, c.id) for c in channels] == [
        ("support", "slack"),
        ("support", "telegram"),
        ("support", "webchat"),
    ]
    detail = await ticking.registry.get("acme")
    assert detail.teams == ["billing", "support"] and detail.generation == 2
    assert await count(ticking, TeamRow) == 3  # bigcorp's helpdesk untouched


async def test_prune_marks_absent_tenants_and_reapplying_cancels(ticking: Services) -> None:
    await ticking.registry.apply(example())
    only_acme = Bundle(tenants={"acme": example().tenants["acme"]})
    before = await snapshot(ticking)
    kept = await ticking.registry.apply(only_acme)
    assert [(c.tenant_id, c.action, c.generation) for c in kept.changes] == [
        ("acme", Action.UNCHANGED, 1),
        ("bigcorp", Action.RETAINED, 1),
    ]
    assert not kept.has_changes and await snapshot(ticking) == before

    pruned = await ticking.registry.apply(only_acme, prune=True)
    assert [(c.action, c.note) for c in pruned.changes] == [
        (Action.UNCHANGED, ""),
        (Action.REMOVED, "marked for deletion"),
    ]
    listed = {t.id: t for t in await ticking.registry.list()}
    assert sorted(listed) == ["acme", "bigcorp"]
    assert listed["bigcorp"].marked_for_deletion and not listed["acme"].marked_for_deletion
    bigcorp = await ticking.registry.get("bigcorp")
    assert bigcorp.deletion_requested_at == bigcorp.updated_at
    assert bigcorp.generation == 1 and bigcorp.teams == ["helpdesk"]

    marked = await snapshot(ticking)
    for prune in (True, False):
        again = await ticking.registry.apply(only_acme, prune=prune)
        assert again.changes[1].action is Action.UNCHANGED and not again.has_changes
        assert await snapshot(ticking) == marked

    back = await ticking.registry.apply(example())
    assert [(c.action, c.generation, c.note) for c in back.changes] == [
        (Action.UNCHANGED, 1, ""),
        (Action.CHANGED, 1, "deletion cancelled"),
    ]
    bigcorp = await ticking.registry.get("bigcorp")
    assert not bigcorp.marked_for_deletion and bigcorp.deletion_requested_at is None
    assert bigcorp.generation == 1


async def test_settings_with_list_ids_do_not_break_later_applies(ticking: Services) -> None:
    odd = TenantSpec(name="Odd", settings={"x": [{"id": [1]}]})
    await ticking.registry.apply(Bundle(tenants={"odd": odd}))
    renamed = odd.model_copy(update={"name": "Odd Renamed"})
    result = await ticking.registry.apply(Bundle(tenants={"odd": renamed}))
    assert [(c.action, c.generation) for c in result.changes] == [(Action.CHANGED, 2)]

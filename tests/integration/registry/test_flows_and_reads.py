"""Flow versions are immutable and an apply is all or nothing; reads validate ids and order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, event

from tenantry.bootstrap import Services
from tenantry.core.errors import ErrorKind
from tenantry.core.ids import InvalidId
from tenantry.tenancy.manifests.schemas import Bundle, Flow, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.errors import FlowVersionConflict, TenantNotFound
from tenantry.tenancy.registry.models import (
    ChannelRow,
    EnvironmentRow,
    FlowRow,
    TeamRow,
    TenantRow,
)
from tenantry.tenancy.registry.plan import Action
from tests.integration.registry.support import count, example, rows, snapshot, with_tenant

FLOW = "acme_support_flow"


def acme_flow(**update: Any) -> Flow:
    flow = example().tenants["acme"].flows[FLOW]
    return Flow.model_validate({**flow.model_dump(), **update})


async def test_a_changed_flow_without_a_new_version_rolls_back_the_whole_apply(
    ticking: Services,
) -> None:
    await ticking.registry.apply(example())
    before = await snapshot(ticking)
    bundle = with_tenant(example(), "acme", flows={FLOW: acme_flow(description="edited")})
    bundle = with_tenant(bundle, "bigcorp", name="BigCorp Renamed")
    newcomer = TenantSpec(name="Newcomer")
    bundle = Bundle(tenants={**bundle.tenants, "newcomer": newcomer})
    planned = await ticking.registry.plan(bundle)
    assert [c.action for c in planned.changes] == [Action.CHANGED] * 2 + [Action.CREATED]
    with pytest.raises(FlowVersionConflict) as caught:
        await ticking.registry.apply(bundle)
    error = caught.value
    assert (error.kind, error.code) == (ErrorKind.CONFLICT, "flow.version_conflict")
    assert error.details == {"tenant_id": "acme", "flow": FLOW, "version": "1.0"}
    assert await snapshot(ticking) == before
    assert (await ticking.registry.get("bigcorp")).name == "BigCorp Inc."
    with pytest.raises(TenantNotFound):
        await ticking.registry.get("newcomer")


async def test_a_new_flow_version_is_stored_beside_the_old(ticking: Services) -> None:
    await ticking.registry.apply(example())
    (old,) = await rows(ticking, FlowRow, "acme")
    newer = acme_flow(version="1.1", description="second")
    result = await ticking.registry.apply(with_tenant(example(), "acme", flows={FLOW: newer}))
    assert result.changes[0].generation == 2
    assert "flows.acme_support_flow.version" in {f.path for f in result.changes[0].changes}
    stored = {r.version: r for r in await rows(ticking, FlowRow, "acme")}
    assert sorted(stored) == ["1.0", "1.1"]
    assert stored["1.0"].definition == old.definition and stored["1.0"].digest == old.digest
    assert stored["1.1"].definition["description"] == "second"
    assert stored["1.1"].digest != old.digest
    assert [(f.name, f.version) for f in (await ticking.registry.get("acme")).flows] == [
        (FLOW, "1.1")
    ]
    back = await ticking.registry.apply(example())  # the old version, unchanged, is fine again
    assert back.changes[0].generation == 3
    assert await count(ticking, FlowRow) == 3  # acme 1.0 and 1.1, bigcorp 1.0


async def test_a_version_once_applied_stays_immutable_after_it_is_replaced(
    ticking: Services,
) -> None:
    await ticking.registry.apply(example())
    newer = acme_flow(version="1.1")
    await ticking.registry.apply(with_tenant(example(), "acme", flows={FLOW: newer}))
    edited = acme_flow(description="rewritten 1.0")
    with pytest.raises(FlowVersionConflict):
        await ticking.registry.apply(with_tenant(example(), "acme", flows={FLOW: edited}))
    assert (await ticking.registry.get("acme")).generation == 2


async def test_the_schema_cascades_deletes(ticking: Services) -> None:
    await ticking.registry.apply(example())
    async with database.session_factory(ticking.engine)() as session, session.begin():
        await session.execute(
            delete(TeamRow).where(TeamRow.tenant_id == "acme", TeamRow.id == "support")
        )
    assert [(c.team_id, c.id) for c in await rows(ticking, ChannelRow, "acme")] == [
        ("sales", "teams")
    ]
    async with database.session_factory(ticking.engine)() as session, session.begin():
        await session.execute(delete(TenantRow).where(TenantRow.id == "acme"))
    for model in (EnvironmentRow, TeamRow, ChannelRow, FlowRow):
        assert await rows(ticking, model, "acme") == []
        assert await rows(ticking, model, "bigcorp") != []


@pytest.fixture
def statements(wired: Services) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the test runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(wired.engine.sync_engine, "before_cursor_execute", record)
    yield sent
    event.remove(wired.engine.sync_engine, "before_cursor_execute", record)


@pytest.mark.parametrize("bad", ["ACME", "a/b", "a..b", "", "-a", "a--b", "global", "x" * 33])
async def test_get_rejects_invalid_ids_without_a_query(
    wired: Services, statements: list[str], bad: str
) -> None:
    with pytest.raises(InvalidId) as caught:
        await wired.registry.get(bad)
    assert (caught.value.kind, caught.value.code) == (ErrorKind.INVALID, "id.invalid")
    assert statements == []


async def test_get_of_an_unknown_tenant(wired: Services, statements: list[str]) -> None:
    await wired.registry.apply(example())
    with pytest.raises(TenantNotFound) as caught:
        await wired.registry.get("nope")
    error = caught.value
    assert (error.kind, error.code, error.details) == (
        ErrorKind.NOT_FOUND,
        "tenant.not_found",
        {"tenant_id": "nope"},
    )
    assert statements  # the valid id was looked up


async def test_list_is_ordered_by_id(wired: Services) -> None:
    assert await wired.registry.list() == []
    ids = ["zeta", "a-c", "ab", "a1", "b", "a", "z9"]
    await wired.registry.apply(Bundle(tenants={i: TenantSpec(name=i.upper()) for i in ids}))
    listed = await wired.registry.list()
    assert [t.id for t in listed] == sorted(ids)
    assert [t.name for t in listed] == [i.upper() for i in sorted(ids)]
    assert all(t.environments == ["prod"] and t.teams == [] for t in listed)


async def test_list_summarises_each_tenant(wired: Services) -> None:
    await wired.registry.apply(example())
    summaries = {t.id: t for t in await wired.registry.list()}
    acme, bigcorp = summaries["acme"], summaries["bigcorp"]
    assert (acme.profile, acme.plan, acme.environments, acme.teams) == (
        "mt-standard",
        "standard",
        ["prod", "staging"],
        ["sales", "support"],
    )
    assert (bigcorp.profile, bigcorp.plan, bigcorp.environments, bigcorp.teams) == (
        "st-dedicated",
        "enterprise",
        ["prod", "dev"],
        ["helpdesk"],
    )
    assert {t.ready for t in summaries.values()} == {None}

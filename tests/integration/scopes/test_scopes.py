"""Opening tenant scopes: who may, and every store of a scope confined to its tenant."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from tenantry.backends.sqlite.lookup import SqliteTenantLookup
from tenantry.bootstrap import Services, services
from tenantry.core.context import TenantCtx
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.core.settings import Settings
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.manifests.schemas import Bundle, Channel, Environment, Team, TenantSpec
from tenantry.tenancy.registry.models import TenantRow

REDIS_URL = "redis://127.0.0.1:6379/13"


TEAMS = {"support": Team(channels={"slack": Channel(provider="slack")}), "sales": Team()}


def _spec(name: str) -> TenantSpec:
    return TenantSpec(name=name, environments=[Environment(id="prod")], teams=TEAMS)


async def _active(wired: Services, *tenants: str) -> None:
    await wired.registry.apply(Bundle(tenants={t: _spec(t) for t in tenants}))
    outcomes = await wired.controller.reconcile_many(list(tenants), concurrency=8)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]


def _ctx(tenant: str, env: str = "prod", team: str | None = None) -> TenantCtx:
    return TenantCtx(tenant_id=tenant, env_id=env, team_id=team)


async def test_an_active_tenant_gets_every_store(wired: Services) -> None:
    await _active(wired, "acme")
    scope = await wired.scopes.open(_ctx("acme", team="support"))
    await scope.state.set("support", "s1", {"step": 1})
    await scope.objects.put("reports/q1.txt", b"quarter")
    await scope.secrets.put("api_key", "k-123")
    await scope.search.index("d1", title="Invoice", body="unpaid invoice for acme")
    async with scope.data.transaction() as conn:
        owner = (await conn.execute(text("SELECT tenant_id FROM tenantry_identity"))).scalar()
    assert owner == "acme"
    assert await scope.state.get("support", "s1") == {"step": 1}
    assert (await scope.objects.get("reports/q1.txt")).data == b"quarter"
    assert (await scope.secrets.get("api_key")).value.reveal_text() == "k-123"
    assert [hit.doc_id for hit in await scope.search.search("invoice")] == ["d1"]


async def _set_state(wired: Services, tenant: str, **values: object) -> None:
    async with wired.engine.begin() as db:
        await db.execute(update(TenantRow).where(TenantRow.id == tenant).values(**values))


@pytest.mark.parametrize(
    ("change", "kind", "code"),
    [
        ({"lifecycle_state": "suspended"}, ErrorKind.LOCKED, "tenant.suspended"),
        ({"lifecycle_state": "archived"}, ErrorKind.LOCKED, "tenant.archived"),
        ({"lifecycle_state": "deleting"}, ErrorKind.GONE, "tenant.deleted"),
        ({"lifecycle_state": "deleted"}, ErrorKind.GONE, "tenant.deleted"),
        ({"lifecycle_state": "pending"}, ErrorKind.CONFLICT, "tenant.not_ready"),
    ],
)
async def test_tenants_that_may_not_run_are_refused(
    wired: Services, change: dict[str, object], kind: ErrorKind, code: str
) -> None:
    await _active(wired, "acme")
    await _set_state(wired, "acme", **change)
    with pytest.raises(TenantryError) as refused:
        await wired.scopes.open(_ctx("acme"))
    assert (refused.value.kind, refused.value.code) == (kind, code)


async def test_unknown_tenants_and_environments_are_not_found(wired: Services) -> None:
    await _active(wired, "acme")
    for ctx, code in (
        (_ctx("ghost"), "tenant.not_found"),
        (_ctx("acme", "dev"), "environment.not_found"),
    ):
        with pytest.raises(TenantryError) as missing:
            await wired.scopes.open(ctx)
        assert (missing.value.kind, missing.value.code) == (ErrorKind.NOT_FOUND, code)


async def test_a_team_the_tenant_does_not_have_is_not_found(wired: Services) -> None:
    await _active(wired, "acme", "globex")
    for team in ("no-such-team", "default"):
        with pytest.raises(TenantryError) as missing:
            await wired.scopes.open(_ctx("acme", team=team))
        assert (missing.value.kind, missing.value.code) == (ErrorKind.NOT_FOUND, "team.not_found")
    assert (await wired.scopes.open(_ctx("acme"))).team.team_id is None  # the default team


async def test_the_team_stores_are_bound_to_the_context_team(wired: Services) -> None:
    await _active(wired, "acme")
    support = await wired.scopes.open(_ctx("acme", team="support"))
    sales = await wired.scopes.open(_ctx("acme", team="sales"))
    await support.team.state.set("s1", {"team": "support"})
    await support.team.secrets.put("token", "support-only")
    created = await support.team.sessions.create("s1", channel="slack")
    assert created.team_id == "support" and created.channel_id == "slack"
    assert await sales.team.state.get("s1") is None
    assert await support.state.get("support", "s1") == {"team": "support"}
    with pytest.raises(TenantryError, match="not found"):
        await sales.team.secrets.get("token")
    with pytest.raises(TenantryError) as missing:
        await sales.team.sessions.get("s1")
    assert missing.value.code == "session.not_found"


async def test_a_channel_the_team_does_not_have_is_not_found(wired: Services) -> None:
    await _active(wired, "acme")
    sales = await wired.scopes.open(_ctx("acme", team="sales"))
    default = await wired.scopes.open(_ctx("acme"))
    for scope in (sales, default):  # slack is support's channel, not theirs
        with pytest.raises(TenantryError) as missing:
            await scope.team.sessions.create("s1", channel="slack")
        assert (missing.value.kind, missing.value.code) == (
            ErrorKind.NOT_FOUND,
            "channel.not_found",
        )
        assert (await scope.team.sessions.list()).items == ()


async def test_teams_are_read_once_per_registry_generation(
    wired: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _active(wired, "acme")
    lookup, reads = wired.scopes._lookup, list[str]()
    real = lookup.roster

    async def counted(tenant_id: str) -> dict[str, frozenset[str]]:
        reads.append(tenant_id)
        return await real(tenant_id)

    monkeypatch.setattr(lookup, "roster", counted)
    await asyncio.gather(*(wired.scopes.open(_ctx("acme", team="sales")) for _ in range(50)))
    assert len(reads) <= 1  # concurrent opens share one read
    reads.clear()
    await wired.scopes.open(_ctx("acme", team="support"))
    assert reads == []
    teams = {**TEAMS, "billing": Team()}
    spec = TenantSpec(name="acme", environments=[Environment(id="prod")], teams=teams)
    await wired.registry.apply(Bundle(tenants={"acme": spec}))  # a new generation
    assert (await wired.scopes.open(_ctx("acme", team="billing"))).team.team_id == "billing"
    assert reads == ["acme"]


async def test_a_suspension_takes_effect_at_the_next_open(wired: Services) -> None:
    await _active(wired, "acme")
    await wired.scopes.open(_ctx("acme"))
    await _set_state(wired, "acme", lifecycle_state="suspended")
    with pytest.raises(TenantryError, match="suspended"):
        await wired.scopes.open(_ctx("acme"))


async def test_a_second_process_refuses_writes_at_once_after_a_suspend(
    wired: Services, settings: Settings
) -> None:
    """Another process opening many scopes for writing at once (on PostgreSQL its status reads
    are coalesced): every open that starts after the suspend's commit is refused, and a
    migrating tenant's writes go through its write gate."""
    await _active(wired, "acme", "beta")
    contexts = [_ctx(tenant) for tenant in ("acme", "beta") for _ in range(20)]
    async with services(settings, migrate=False) as other:
        opened = await asyncio.gather(*(other.scopes.open_writing(ctx) for ctx in contexts))
        assert all(release is None for _, release in opened)
        await _set_state(wired, "acme", lifecycle_state="suspended")  # committed elsewhere
        outcomes = await asyncio.gather(
            *(other.scopes.open_writing(ctx) for ctx in contexts), return_exceptions=True
        )
        refused = [getattr(outcome, "code", None) for outcome in outcomes[:20]]
        assert refused == ["tenant.suspended"] * 20
        assert not [outcome for outcome in outcomes[20:] if isinstance(outcome, BaseException)]
        await _set_state(wired, "beta", lifecycle_state="migrating")
        _, release = await other.scopes.open_writing(_ctx("beta"))
        assert release is not None  # the write gate's hold, taken at once
        await release()


async def test_each_open_carries_its_own_context(wired: Services) -> None:
    await _active(wired, "acme")
    first = await wired.scopes.open(_ctx("acme", team="support"))
    second = await wired.scopes.open(_ctx("acme", team="sales"))
    assert (first.ctx.team_id, second.ctx.team_id) == ("support", "sales")
    assert second.state is first.state  # the bound stores are reused, the context is not


async def test_a_changed_placement_is_bound_anew(wired: Services) -> None:
    await _active(wired, "acme")
    before = await wired.scopes.open(_ctx("acme"))
    placements = await _stored_placements(wired, "acme")
    placements["prod"]["objects"]["prefix"] = "tenants/acme/prod-moved/"
    await _set_state(wired, "acme", placement=placements)
    after = await wired.scopes.open(_ctx("acme"))
    assert after.objects is not before.objects


async def test_an_unreadable_control_database_is_unavailable(tmp_path: Path) -> None:
    lookup = SqliteTenantLookup(tmp_path / "empty.sqlite3")  # no tenants table
    with pytest.raises(TenantryError) as refused:
        await lookup.status("acme")
    assert (refused.value.kind, refused.value.code) == (
        ErrorKind.UNAVAILABLE,
        "control_db.unavailable",
    )
    await lookup.close()


async def _stored_placements(wired: Services, tenant: str) -> dict[str, Any]:
    async with wired.engine.connect() as db:
        found = await db.execute(select(TenantRow.placement).where(TenantRow.id == tenant))
        placements: dict[str, Any] = found.scalar_one()
    return placements


@pytest.fixture
async def fleet(settings: Settings) -> AsyncIterator[tuple[Services, list[str]]]:
    """50 active tenants, with state on the real Redis when the control DB is PostgreSQL."""
    real = settings.database_url and settings.database_url.startswith("postgresql")
    chosen = settings.model_copy(update={"redis_url": REDIS_URL}) if real else settings
    marker = uuid.uuid4().hex[:6]
    tenants = [f"f{marker}-{i}" for i in range(50)]
    async with services(chosen) as wired:
        await _active(wired, *tenants)
        yield wired, tenants
        for tenant in tenants:
            await (await wired.scopes.open(_ctx(tenant))).state.clear()


async def test_a_thousand_interleaved_operations_each_see_only_their_tenant(
    fleet: tuple[Services, list[str]],
) -> None:
    wired, tenants = fleet
    rng = random.Random(7)
    plan = [(rng.choice(tenants), i) for i in range(1000)]

    async def one(tenant: str, i: int) -> None:
        scope = await wired.scopes.open(_ctx(tenant))
        await asyncio.sleep(rng.random() / 1000)  # interleave with the others
        await _round_trip(scope, tenant, i)

    await asyncio.gather(*(one(tenant, i) for tenant, i in plan))
    for tenant in tenants:
        await _sees_only_its_own(await wired.scopes.open(_ctx(tenant)), tenant)


async def _round_trip(scope: TenantScope, tenant: str, i: int) -> None:
    match i % 4:
        case 0:
            await scope.state.set("support", f"s{i}", {"owner": tenant})
            assert await scope.state.get("support", f"s{i}") == {"owner": tenant}
        case 1:
            await scope.objects.put(f"o{i}", tenant.encode())
            assert (await scope.objects.get(f"o{i}")).data == tenant.encode()
        case 2:
            await scope.secrets.put(f"s{i}", tenant)
            assert (await scope.secrets.get(f"s{i}")).value.reveal_text() == tenant
        case _:
            await scope.search.index(f"d{i}", title=tenant, body=f"owned by {tenant}")
            hits = await scope.search.search("owned")
            assert hits and all(hit.title == tenant for hit in hits)


async def _sees_only_its_own(scope: TenantScope, tenant: str) -> None:
    for key in await _object_keys(scope):
        assert (await scope.objects.get(key)).data == tenant.encode()
    for info in await scope.secrets.list():
        assert (await scope.secrets.get(info.name)).value.reveal_text() == tenant
    assert all(hit.title == tenant for hit in await scope.search.search("owned", limit=100))


async def _object_keys(scope: TenantScope) -> list[str]:
    keys: list[str] = []
    cursor: str | None = None
    while True:
        page = await scope.objects.list(after=cursor, limit=100)
        keys.extend(page.items)
        if (cursor := page.next_cursor) is None:
            return keys

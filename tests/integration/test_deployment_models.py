"""Deployment models on both control databases: a single-tenant instance
(``TENANTRY_SINGLE_TENANT=acme``) serves acme and refuses every other tenant at every door
(registry, access, scopes, controller, lifecycle, API), changing nothing; multi-tenant serves all.

The control database here holds acme and bigcorp (applied by a multi-tenant instance first), so
the single-tenant instance has another tenant within reach and must still refuse it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tenantry.bootstrap import Services, services
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.tenancy.deployment import TenantNotServed
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.manifests.schemas import Bundle
from tenantry.tenancy.registry.errors import TenantNotFound
from tenantry.worker.runners.wiring import directory
from tests.api.test_api import ADMIN, assert_problem, client_for
from tests.integration.registry.support import example, snapshot


@pytest.fixture
async def single(settings: Settings) -> AsyncIterator[Services]:
    """A multi-tenant instance applies and provisions acme and bigcorp; then the same control
    database and data directory serve a single-tenant instance for acme."""
    async with services(settings) as shared:
        await shared.registry.apply(example())
        outcomes = await shared.controller.reconcile_many(["acme", "bigcorp"], concurrency=2)
        assert {o.result.value for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    async with services(settings.model_copy(update={"single_tenant": "acme"})) as built:
        yield built


def _ctx(tenant: str) -> TenantCtx:
    return TenantCtx(
        tenant_id=tenant, env_id="prod", team_id="support" if tenant == "acme" else None
    )


async def test_a_single_tenant_instance_serves_its_tenant(single: Services) -> None:
    scope = await single.scopes.open(_ctx("acme"))
    await scope.state.set(None, "s1", {"hello": "acme"})
    assert await scope.state.get(None, "s1") == {"hello": "acme"}
    assert [t.id for t in await single.registry.list()] == ["acme"]
    assert (await single.registry.get("acme")).id == "acme"
    assert await single.controller.everyone() == ["acme"]
    assert (await single.access.issue_token("u1", tenant="acme", role="viewer")).token


async def test_every_other_tenant_is_not_found_at_runtime(single: Services) -> None:
    with pytest.raises(TenantNotFound):
        await single.scopes.open(_ctx("bigcorp"))
    with pytest.raises(TenantNotFound):
        await single.registry.get("bigcorp")
    with pytest.raises(TenantNotFound):
        await single.access.issue_token("u1", tenant="bigcorp", role="viewer")
    with pytest.raises(TenantNotFound):
        await single.controller.reconcile("bigcorp")
    assert "bigcorp" not in await single.controller.due()


async def test_writes_naming_another_tenant_are_refused_and_change_nothing(
    single: Services,
) -> None:
    before = await snapshot(single)
    bundle = example()
    with pytest.raises(TenantNotServed) as refused:
        await single.registry.apply(bundle)
    assert refused.value.details["tenant_ids"] == ["bigcorp"]
    assert "TENANTRY_SINGLE_TENANT" in refused.value.message
    with pytest.raises(TenantNotServed):
        await single.registry.plan(bundle)
    with pytest.raises(TenantNotServed):
        await single.registry.create("zeta", bundle.tenants["bigcorp"])
    with pytest.raises(TenantNotServed):
        await single.lifecycle.request(JobKind.SUSPEND, "bigcorp", actor="test")
    assert await snapshot(single) == before


async def test_a_prune_never_reaches_another_tenant(single: Services) -> None:
    only_acme = Bundle(tenants={"acme": example().tenants["acme"]}, plans=example().plans)
    result = await single.registry.apply(only_acme, prune=True)
    assert not result.has_changes
    async with services(single.settings.model_copy(update={"single_tenant": None})) as shared:
        assert [t.id for t in await shared.registry.list()] == ["acme", "bigcorp"]


async def test_the_api_of_a_single_tenant_instance(single: Services) -> None:
    async with client_for(single) as client:
        listing = await client.get("/api/v1/tenants", headers=ADMIN)
        assert [t["id"] for t in listing.json()["items"]] == ["acme"]
        assert_problem(
            await client.get("/api/v1/tenants/bigcorp", headers=ADMIN), 404, "tenant.not_found"
        )
        body = {"id": "zeta", "name": "Zeta", "environments": [{"id": "prod"}]}
        refused = await client.post("/api/v1/tenants", headers=ADMIN, json=body)
        assert_problem(refused, 403, "deployment.tenant_not_served")
        other = {**ADMIN, "X-Tenant-ID": "bigcorp"}
        assert_problem(await client.get("/api/v1/state/s1", headers=other), 404, "tenant.not_found")
        token = {"principal": "u1", "tenant": "bigcorp", "role": "viewer"}
        issued = await client.post("/api/v1/tokens", headers=other, json=token)
        assert_problem(issued, 404, "tenant.not_found")
        ours = {**ADMIN, "X-Tenant-ID": "acme"}
        assert (await client.put("/api/v1/state/s1", headers=ours, json={"a": 1})).status_code in {
            200,
            201,
            204,
        }
        assert (await client.get("/api/v1/tenants/zeta", headers=ADMIN)).status_code == 404


async def test_a_multi_tenant_instance_serves_every_tenant(wired: Services) -> None:
    await wired.registry.apply(example())
    assert [t.id for t in await wired.registry.list()] == ["acme", "bigcorp"]
    assert sorted(await wired.controller.everyone()) == ["acme", "bigcorp"]


async def test_the_worker_pools_of_a_single_tenant_instance_serve_it_alone(
    single: Services,
) -> None:
    served = await directory(single).served()
    assert {entry.tenant_id for entry in served} == {"acme"}
    assert {entry.pool for entry in served} == {"shared"}
    async with services(single.settings.model_copy(update={"single_tenant": None})) as shared:
        every = await directory(shared).served()
        assert {entry.tenant_id for entry in every} == {"acme", "bigcorp"}

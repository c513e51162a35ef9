"""Tenants created and replaced over the API, and the stored plans, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import update

from tenantry.bootstrap import Services
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.errors import TenantTombstoned
from tenantry.tenancy.registry.models import TenantRow
from tenantry.tenancy.registry.plan import spec_hash
from tests.api.test_api import ADMIN, assert_problem, client_for
from tests.conftest import EXAMPLE_BUNDLE
from tests.integration.registry.support import snapshot

FLOW = {
    "name": "zeta_flow",
    "version": "1.0",
    "nodes": [{"id": "start", "type": "reply", "config": {"message": "hi"}}],
}

LOOP = {"id": "a", "type": "reply", "next": "a", "config": {"message": "again"}}  # never ends


@pytest.fixture
async def client(wired: Services) -> AsyncIterator[httpx.AsyncClient]:
    await wired.registry.apply(loader.load([EXAMPLE_BUNDLE]), source="examples/bundle")
    async with client_for(wired) as http:
        yield http


def zeta(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "zeta",
        "name": "Zeta Ltd",
        "profile": "mt-standard",
        "plan": "enterprise",
        "settings": {"language": "en"},
        "environments": [{"id": "prod"}, {"id": "dev", "name": "Development"}],
        "teams": {
            "help": {"flow": "zeta_flow", "channels": {"web": {"provider": "messaging-webchat"}}}
        },
        "flows": {"zeta_flow": FLOW},
        "limits": {"burst": 500},
    }
    return {**body, **changes}


async def _tombstone(wired: Services, tenant_id: str) -> None:
    async with database.session_factory(wired.engine)() as session, session.begin():
        await session.execute(
            update(TenantRow).where(TenantRow.id == tenant_id).values(lifecycle_state="deleted")
        )


async def test_post_creates_a_tenant_pending_with_its_source(
    client: httpx.AsyncClient, wired: Services
) -> None:
    response = await client.post("/api/v1/tenants", headers=ADMIN, json=zeta())
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/v1/tenants/zeta"
    created = response.json()
    assert (created["id"], created["source"], created["lifecycle_state"]) == (
        "zeta",
        "api",
        "pending",
    )
    assert (created["generation"], created["observed_generation"]) == (1, 0)
    assert [c["reason"] for c in created["conditions"]] == ["AwaitingReconcile"]
    assert created["environments"] == ["prod", "dev"] and created["teams"] == ["help"]
    assert created["flows"] == [{"name": "zeta_flow", "version": "1.0", "nodes": 1}]
    assert created["prevent_deletion"] is False
    assert (await client.get("/api/v1/tenants/zeta", headers=ADMIN)).json() == created
    listing = (await client.get("/api/v1/tenants", headers=ADMIN)).json()["items"]
    assert {t["id"]: t["source"] for t in listing} == {
        "acme": "bundle",
        "bigcorp": "bundle",
        "zeta": "api",
    }


async def test_post_stores_what_applying_a_bundle_holding_it_would(
    client: httpx.AsyncClient, wired: Services, tmp_path: Path
) -> None:
    """The same tenant in a bundle (with the example's plans) gives the same spec, to the hash."""
    assert (await client.post("/api/v1/tenants", headers=ADMIN, json=zeta())).status_code == 201
    body = zeta()
    del body["id"]
    flows = [body.pop("flows")["zeta_flow"]]
    bundle_file = yaml.safe_load((EXAMPLE_BUNDLE / "bundle.yaml").read_text())
    document = {"plans": bundle_file["plans"], "tenants": {"zeta": body}, "flows": flows}
    (tmp_path / "bundle.yaml").write_text(yaml.safe_dump(document))
    applied = loader.load([tmp_path / "bundle.yaml"]).tenants["zeta"]
    stored = (await wired.registry.get("zeta")).model_dump()
    async with database.session_factory(wired.engine)() as session:
        row = await session.get_one(TenantRow, "zeta")
    assert row.spec_hash == spec_hash(applied.model_dump(mode="json"))
    assert row.spec["limits"]["rate"] == 200.0 and row.spec["limits"]["burst"] == 500
    assert stored["plan"] == "enterprise"


async def test_unknown_plan_is_400_naming_the_defined_ones(
    client: httpx.AsyncClient, wired: Services
) -> None:
    before = await snapshot(wired)
    response = await client.post("/api/v1/tenants", headers=ADMIN, json=zeta(plan="gold"))
    body = assert_problem(response, 400, "plan.unknown")
    assert "'gold'" in str(body["detail"])
    assert "enterprise" in str(body["detail"]) and "standard" in str(body["detail"])
    assert await snapshot(wired) == before


async def test_unknown_profile_is_400_listing_the_allowed_ones(
    client: httpx.AsyncClient, wired: Services
) -> None:
    before = await snapshot(wired)
    response = await client.post("/api/v1/tenants", headers=ADMIN, json=zeta(profile="st-huge"))
    body = assert_problem(response, 400, "request.invalid")
    text = str(body["errors"])
    assert "mt-standard" in text and "st-dedicated" in text and "st-byoc" in text
    assert await snapshot(wired) == before


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"id": "Zeta"}, "id.invalid"),
        ({"id": "global"}, "id.invalid"),
        ({"id": "a" * 40}, "id.invalid"),
        ({"environments": [{"id": "Prod"}]}, "request.invalid"),
        ({"unknown": 1}, "request.invalid"),
        ({"teams": {}}, "request.invalid"),  # zeta_flow is then bound to nothing
        ({"flows": {}}, "request.invalid"),  # the team binds a flow that is not there
        ({"flows": {"other": FLOW}}, "request.invalid"),  # keyed by another name
        ({"name": ""}, "request.invalid"),
        (
            {"flows": {"zeta_flow": {**FLOW, "nodes": [{"id": "a", "type": "x"}]}}},
            "request.invalid",
        ),
        ({"flows": {"zeta_flow": {**FLOW, "nodes": [LOOP]}}}, "request.invalid"),
        ({"teams": {"help": {"flow": "zeta_flow@9.9"}}}, "flow.version_unknown"),
    ],
)
async def test_bad_input_is_400_and_changes_nothing(
    client: httpx.AsyncClient, wired: Services, changes: dict[str, Any], code: str
) -> None:
    before = await snapshot(wired)
    response = await client.post("/api/v1/tenants", headers=ADMIN, json=zeta(**changes))
    assert_problem(response, 400, code)
    assert await snapshot(wired) == before


@pytest.mark.parametrize("tenant_id", ["zeta", "acme"])
async def test_an_existing_id_is_409(
    client: httpx.AsyncClient, wired: Services, tenant_id: str
) -> None:
    await client.post("/api/v1/tenants", headers=ADMIN, json=zeta())
    before = await snapshot(wired)
    response = await client.post("/api/v1/tenants", headers=ADMIN, json=zeta(id=tenant_id))
    assert_problem(response, 409, "tenant.exists")
    assert await snapshot(wired) == before


async def test_a_deleted_tenants_id_is_a_tombstone(
    client: httpx.AsyncClient, wired: Services
) -> None:
    """A row in state 'deleted' stays; neither POST, PUT nor apply may use its id again."""
    await client.post("/api/v1/tenants", headers=ADMIN, json=zeta())
    await _tombstone(wired, "zeta")
    await _tombstone(wired, "bigcorp")
    before = await snapshot(wired)
    for sent in (
        client.post("/api/v1/tenants", headers=ADMIN, json=zeta()),
        client.put("/api/v1/tenants/zeta", headers=ADMIN, json=zeta(name="Again")),
        client.post("/api/v1/tenants", headers=ADMIN, json=zeta(id="bigcorp")),
    ):
        body = assert_problem(await sent, 409, "tenant.tombstoned")
        assert "never reused" in str(body["detail"])
    with pytest.raises(TenantTombstoned) as caught:
        await wired.registry.apply(loader.load([EXAMPLE_BUNDLE]))
    assert "'bigcorp'" in caught.value.message
    assert await snapshot(wired) == before
    assert (await client.get("/api/v1/tenants/zeta", headers=ADMIN)).json()["lifecycle_state"] == (
        "deleted"
    )


async def test_idempotency_key_replays_the_creation(
    client: httpx.AsyncClient, wired: Services
) -> None:
    keyed = {**ADMIN, "Idempotency-Key": "create-zeta-1"}
    first = await client.post("/api/v1/tenants", headers=keyed, json=zeta())
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    before = await snapshot(wired)
    again = await client.post("/api/v1/tenants", headers=keyed, json=zeta())
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == "/api/v1/tenants/zeta"
    assert again.json() == first.json()
    other = await client.post("/api/v1/tenants", headers=keyed, json=zeta(name="Other"))
    assert_problem(other, 422, "idempotency.key_reused")
    fresh = await client.post(
        "/api/v1/tenants", headers={**ADMIN, "Idempotency-Key": "another"}, json=zeta()
    )
    assert_problem(fresh, 409, "tenant.exists")
    assert_problem(
        await client.post("/api/v1/tenants", headers=ADMIN, json=zeta()), 409, "tenant.exists"
    )
    assert await snapshot(wired) == before


async def test_put_replaces_and_bumps_the_generation_only_on_change(
    client: httpx.AsyncClient, wired: Services
) -> None:
    await client.post("/api/v1/tenants", headers=ADMIN, json=zeta())
    changed = await client.put(
        "/api/v1/tenants/zeta", headers=ADMIN, json=zeta(name="Zeta Group", prevent_deletion=True)
    )
    assert changed.status_code == 200, changed.text
    tenant = changed.json()
    assert (tenant["name"], tenant["generation"], tenant["prevent_deletion"]) == (
        "Zeta Group",
        2,
        True,
    )
    before = await snapshot(wired)
    body = zeta(name="Zeta Group", prevent_deletion=True)
    del body["id"]  # the id may be left out
    same = await client.put("/api/v1/tenants/zeta", headers=ADMIN, json=body)
    assert same.status_code == 200 and same.json()["generation"] == 2
    assert await snapshot(wired) == before


async def test_put_of_a_bundle_tenant_keeps_its_source(client: httpx.AsyncClient) -> None:
    acme = zeta(id="acme", plan="standard")
    response = await client.put("/api/v1/tenants/acme", headers=ADMIN, json=acme)
    assert response.status_code == 200, response.text
    assert (response.json()["source"], response.json()["generation"]) == ("bundle", 2)


async def test_put_errors(client: httpx.AsyncClient, wired: Services) -> None:
    before = await snapshot(wired)
    missing = await client.put("/api/v1/tenants/nope", headers=ADMIN, json=zeta(id="nope"))
    assert_problem(missing, 404, "tenant.not_found")
    other = await client.put("/api/v1/tenants/acme", headers=ADMIN, json=zeta())
    assert_problem(other, 400, "tenant.id_mismatch")
    bad = await client.put("/api/v1/tenants/ACME", headers=ADMIN, json=zeta(id="ACME"))
    assert_problem(bad, 400, "id.invalid")
    plan = await client.put("/api/v1/tenants/acme", headers=ADMIN, json=zeta(id="acme", plan="x"))
    assert_problem(plan, 400, "plan.unknown")
    assert await snapshot(wired) == before


async def test_only_platform_admins_create_replace_and_list_plans(
    client: httpx.AsyncClient, wired: Services
) -> None:
    issued = await wired.access.issue_token("ann", tenant="acme", role=Role.TENANT_ADMIN)
    tenant_admin = {"Authorization": f"Bearer {issued.token}"}
    before = await snapshot(wired)
    for sent in (
        client.post("/api/v1/tenants", headers=tenant_admin, json=zeta()),
        client.put("/api/v1/tenants/acme", headers=tenant_admin, json=zeta(id="acme")),
        client.get("/api/v1/plans", headers=tenant_admin),
    ):
        assert_problem(await sent, 403, "auth.platform_admin_required")
    assert_problem(await client.get("/api/v1/plans"), 401, "auth.missing_token")
    assert await snapshot(wired) == before


async def test_plans_lists_the_bundles_and_the_built_in_one(client: httpx.AsyncClient) -> None:
    plans = (await client.get("/api/v1/plans", headers=ADMIN)).json()["items"]
    assert [(p["name"], p["source"]) for p in plans] == [
        ("enterprise", "examples/bundle"),
        ("standard", "built-in"),
    ]
    enterprise, standard = plans
    assert enterprise["limits"]["rate"] == 200.0 and "authoring_rate" not in enterprise["limits"]
    assert enterprise["effective"]["authoring_rate"] == 5.0
    assert enterprise["effective"]["retention"] == {"purge_after": 30 * 86_400}
    assert standard["updated_at"] is None and enterprise["updated_at"] is not None

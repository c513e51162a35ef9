"""A change a policy forbids, over the API: 409 ``policy.violated`` naming the tenant, the
policy, the action and every violation; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tenantry.api.access import EXTENSION, AccessKind
from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.manifests.schemas import Bundle
from tests.api.test_api import ADMIN, assert_problem, client_for

TENANTS = "/api/v1/tenants"


async def token_for(wired: Services, tenant: str, role: Role) -> dict[str, str]:
    issued = await wired.access.issue_token("someone", tenant=tenant, role=role)
    return {"Authorization": f"Bearer {issued.token}", "X-Tenant-ID": tenant}


@pytest.fixture
async def api(wired: Services) -> AsyncIterator[httpx.AsyncClient]:
    policies = {"keep": {"retention": {"purge_after": "30d"}}}
    plans = {"starter": {"allows": {"profiles": ["mt-standard"]}}}
    tenants = {"acme": {"name": "Acme", "policy": "keep"}, "beta": {"name": "Beta"}}
    bundle = {"tenants": tenants, "policies": policies, "plans": plans}
    await wired.registry.apply(Bundle.model_validate(bundle))
    outcomes = await wired.controller.reconcile_many(["acme", "beta"], concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    async with client_for(wired) as http:
        yield http


async def test_a_delete_now_the_retention_policy_forbids_is_a_409(api: httpx.AsyncClient) -> None:
    response = await api.delete(f"{TENANTS}/acme?now=true", headers=ADMIN)
    body = assert_problem(response, 409, "policy.violated")
    assert body["tenant_id"] == "acme" and body["policy"] == "keep" and body["action"] == "delete"
    [violation] = body["violations"]  # type: ignore[misc]
    assert violation["check"] == "retention" and "--now is refused" in violation["reason"]
    # Another tenant, with no policy, is not held to acme's.
    assert (await api.delete(f"{TENANTS}/beta?now=true", headers=ADMIN)).status_code == 202


async def test_a_tenant_created_against_its_plan_is_a_409(api: httpx.AsyncClient) -> None:
    body = {"id": "zeta", "name": "Zeta", "plan": "starter", "profile": "st-dedicated"}
    response = await api.post(TENANTS, headers=ADMIN, json=body)
    problem = assert_problem(response, 409, "policy.violated")
    assert problem["action"] == "apply" and problem["policy"] is None
    assert (await api.get(f"{TENANTS}/zeta", headers=ADMIN)).status_code == 404


async def test_an_undefined_policy_is_a_400(api: httpx.AsyncClient) -> None:
    body = {"id": "zeta", "name": "Zeta", "policy": "nope"}
    response = await api.post(TENANTS, headers=ADMIN, json=body)
    assert_problem(response, 400, "policy.unknown")


async def test_the_policy_routes_declare_their_access(api: httpx.AsyncClient) -> None:
    paths = create_app().openapi()["paths"]
    assert paths["/api/v1/policies"]["get"][EXTENSION] == {"kind": "platform-admin"}
    tenant_admin = {"kind": AccessKind.TENANT_ROLE.value, "action": "admin"}
    assert paths["/api/v1/policy-check"]["get"][EXTENSION] == tenant_admin


async def test_platform_admins_list_policies(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/policies", headers=ADMIN)
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["items"]] == ["keep"]


async def test_a_tenant_admin_checks_only_its_own_tenant(
    api: httpx.AsyncClient, wired: Services
) -> None:
    acme = await token_for(wired, "acme", Role.TENANT_ADMIN)
    report = await api.get("/api/v1/policy-check", headers=acme)
    assert report.status_code == 200, report.text
    assert (report.json()["tenant_id"], report.json()["policy"]) == ("acme", "keep")
    # Naming another tenant is refused, and nothing of beta's check is shown.
    other = await api.get("/api/v1/policy-check", headers={**acme, "X-Tenant-ID": "beta"})
    assert other.status_code in (403, 404) and "keep" not in other.text
    beta = await token_for(wired, "beta", Role.TENANT_ADMIN)
    mine = (await api.get("/api/v1/policy-check", headers=beta)).json()
    assert (mine["tenant_id"], mine["policy"]) == ("beta", None)
    # Platform policies are the platform admins'.
    assert (await api.get("/api/v1/policies", headers=acme)).status_code == 403
    reader = await token_for(wired, "acme", Role.VIEWER)
    assert (await api.get("/api/v1/policy-check", headers=reader)).status_code == 403

"""A change a policy forbids, over the API: 409 ``policy.violated`` naming the tenant, the
policy, the action and every violation; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tenantry.bootstrap import Services
from tenantry.tenancy.manifests.schemas import Bundle
from tests.api.test_api import ADMIN, assert_problem, client_for

TENANTS = "/api/v1/tenants"


@pytest.fixture
async def api(wired: Services) -> AsyncIterator[httpx.AsyncClient]:
    policies = {"keep": {"retention": {"purge_after": "30d"}}}
    plans = {"starter": {"allows": {"profiles": ["mt-standard"]}}}
    tenants = {"acme": {"name": "Acme", "policy": "keep"}, "beta": {"name": "Beta"}}
    bundle = {"tenants": tenants, "policies": policies, "plans": plans}
    await wired.registry.apply(Bundle.model_validate(bundle))
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

"""A tenant over its rate limit is refused before routing, exactly as the access dependency
would refuse it, and nobody else is: the full app, real tokens, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.tenancy.limits.schemas import LimitsSpec, RouteClass
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec
from tests.api.test_access import assert_problem

PATH = "/api/v1/state/s1"


@dataclass
class Api:
    http: httpx.AsyncClient
    services: Services
    tokens: dict[str, str]
    admitted: list[str]  # the tenants limits.admit was asked for, in order

    async def get(self, tenant: str, path: str = PATH, **headers: str) -> httpx.Response:
        sent = {"Authorization": f"Bearer {self.tokens[tenant]}", "X-Tenant-ID": tenant}
        return await self.http.get(path, headers=sent | headers)

    async def exhaust(self, tenant: str) -> httpx.Response:
        """Requests until the limiter refuses one; that refusal."""
        for _ in range(10):
            response = await self.get(tenant)
            if response.status_code == 429:
                return response
        raise AssertionError(f"{tenant} was never refused")


@pytest.fixture
async def api(wired: Services, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    tight = LimitsSpec(rate=0.01, burst=2)  # two requests, then one per 100 s
    spec = {
        "noisy": TenantSpec(name="noisy", environments=[Environment(id="prod")], limits=tight),
        "quiet": TenantSpec(name="quiet", environments=[Environment(id="prod")]),
        "author": TenantSpec(
            name="author",
            environments=[Environment(id="prod")],
            limits=LimitsSpec(authoring_rate=0.01, authoring_burst=1),  # one write per 100 s
        ),
    }
    await wired.registry.apply(Bundle(tenants=spec))
    outcomes = await wired.controller.reconcile_many(list(spec), concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    tokens = {}
    for tenant in spec:
        scope = await wired.scopes.open(TenantCtx(tenant_id=ids.tenant_id(tenant), env_id="prod"))
        await scope.state.set(None, "s1", {"tenant": tenant})
        role = "tenant-admin" if tenant == "author" else "viewer"
        tokens[tenant] = (await wired.access.issue_token("t", tenant=tenant, role=role)).token
    admitted: list[str] = []
    admit = wired.limits.admit

    async def counted(ctx: TenantCtx, *args: Any, **kwargs: Any) -> Any:
        admitted.append(ctx.tenant_id)
        return await admit(ctx, *args, **kwargs)

    monkeypatch.setattr(wired.limits, "admit", counted)
    transport = httpx.ASGITransport(app=create_app(services=wired))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Api(http, wired, tokens, admitted)


def assert_refusal(response: httpx.Response) -> dict[str, Any]:
    body = assert_problem(response, 429, "rate.limited")
    assert body["instance"] == PATH and "'noisy'" in body["detail"]
    assert 90 <= int(response.headers["Retry-After"]) <= 100
    assert response.headers["RateLimit-Limit"] == "2"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.headers["RateLimit-Policy"] == "2;w=200"
    assert response.headers["X-Correlation-ID"]
    return body


async def test_a_refused_tenant_is_refused_again_before_routing(api: Api) -> None:
    first = await api.exhaust("noisy")
    assert_refusal(first)
    assert api.services.limits.refusals.names("noisy")
    asked = len(api.admitted)
    again = await api.get("noisy")
    assert_refusal(again)
    assert again.json().keys() == first.json().keys()
    assert len(api.admitted) == asked  # answered before the access dependency ran
    quiet = await api.get("quiet")  # the other tenant goes the normal way and passes
    assert quiet.status_code == 200 and quiet.json()["value"] == {"tenant": "quiet"}
    assert api.admitted[-1] == "quiet"


async def test_without_the_tenant_header_the_token_names_the_tenant(api: Api) -> None:
    await api.exhaust("noisy")
    asked = len(api.admitted)
    bare = await api.http.get(PATH, headers={"Authorization": f"Bearer {api.tokens['noisy']}"})
    assert_refusal(bare)
    assert len(api.admitted) == asked


async def test_what_the_refused_tenant_sends_elsewhere_is_answered_as_before(api: Api) -> None:
    await api.exhaust("noisy")
    assert_problem(await api.get("noisy", "/api/v1/nowhere"), 404, "route.not_found")
    assert (await api.get("noisy", "/healthz")).status_code == 200
    mismatch = await api.get("noisy", **{"X-Tenant-ID": "quiet"})
    assert_problem(mismatch, 403, "auth.tenant_mismatch")
    denied = [r for r in await api.services.access.audit_records() if r.outcome == "denied"]
    assert [r.tenant for r in denied] == ["quiet"]  # audited as on the normal way
    forged = await api.http.get(PATH, headers={"Authorization": "Bearer x.y.z"})
    assert_problem(forged, 401, "auth.invalid_token")
    assert api.services.limits.refusals.refusal("noisy", RouteClass.DEFAULT) is not None


async def test_authoring_routes_have_their_own_stricter_bucket(api: Api) -> None:
    def put(name: str) -> Any:
        headers = {"Authorization": f"Bearer {api.tokens['author']}"}
        return api.http.put(f"/api/v1/secrets/{name}", json={"value": "v"}, headers=headers)

    assert (await put("first")).status_code == 200
    refused = await put("second")
    body = assert_problem(refused, 429, "rate.limited")
    assert "authoring rate limit" in body["detail"] and refused.headers["RateLimit-Limit"] == "1"
    assert (await put("third")).status_code == 429  # remembered, refused before routing
    assert (await api.get("author")).status_code == 200  # the default class is not touched
    listed = await api.http.get(
        "/api/v1/secrets", headers={"Authorization": f"Bearer {api.tokens['author']}"}
    )
    assert [item["name"] for item in listed.json()["items"]] == ["first"]

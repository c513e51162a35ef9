"""``GET /api/v1/usage``, the RateLimit-* headers and the limit problems, through ASGI.

Access is not under test here: ``reader`` is overridden by a stand-in that trusts an
``X-Test-Tenant`` header, then does what the real one must (admit, remember the admission).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest
from fastapi import FastAPI, Request

from tenantry.api import limits as limits_http
from tenantry.api import problems
from tenantry.api.caller import Reader, reader
from tenantry.api.proofs import ReadAccess
from tenantry.api.routes import usage
from tenantry.bootstrap import Services
from tenantry.core.context import TenantCtx
from tenantry.core.ids import EnvId, TenantId
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.access.schemas import Grant, Principal, PrincipalKind, Role
from tenantry.tenancy.limits import plans
from tenantry.tenancy.limits.catalog import StaticLimits
from tenantry.tenancy.limits.errors import QuotaExceeded, QuotaTooLarge
from tenantry.tenancy.limits.local import LocalRateLimiter
from tenantry.tenancy.limits.meters import Meters
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.limits.service import LimitsService
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.registry.database import session_factory
from tests.api.test_api import assert_problem

BUNDLE = "tenants:\n  acme:\n    name: Acme\n  beta:\n    name: Beta\n"
AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
WINDOW = {"from": "2030-01-01T00:00:00Z", "to": "2030-02-01T00:00:00Z"}


def app_for(services: Services, limits: LimitsService) -> FastAPI:
    app = FastAPI()
    app.state.services = services
    problems.install(app)
    app.add_middleware(limits_http.LimitsMiddleware)
    app.include_router(usage.router)

    async def stand_in(request: Request) -> ReadAccess:
        tenant = TenantId(request.headers["X-Test-Tenant"])
        ctx = TenantCtx(tenant_id=tenant, env_id=EnvId("prod"))
        route_class = limits_http.route_class_of(request)
        limits_http.remember(request, await limits.admit(ctx, route_class, hold_slot=True))
        grant = Grant(tenant, Role.VIEWER)
        principal = Principal("tester", PrincipalKind.USER, (grant,), "test-token")
        return ReadAccess(principal, ctx, Role.VIEWER, cast(TenantScope, None))

    @app.get("/quota/{which}")
    async def quota(which: str, access: Reader) -> None:
        if which == "full":
            raise QuotaExceeded("the objects quota is used", details={"resource": "objects"})
        raise QuotaTooLarge("that object is too large for the quota")

    @app.get("/slow")
    async def slow(access: Reader) -> None:
        gate = app.state.gate
        gate.entered.set()
        await gate.release.wait()

    @app.post("/definitions", openapi_extra=limits_http.AUTHORING)
    async def author(access: Reader) -> None:
        return None

    app.dependency_overrides[reader] = stand_in
    return app


class Gate:
    def __init__(self) -> None:
        self.entered, self.release = asyncio.Event(), asyncio.Event()


@pytest.fixture
async def service() -> LimitsService:
    limits = plans.effective(
        LimitsSpec(rate=1, burst=3, authoring_rate=0.5, authoring_burst=2, max_in_flight=1)
    )
    return LimitsService(StaticLimits(limits), LocalRateLimiter())


@pytest.fixture
async def http(
    wired: Services, tmp_path: Path, service: LimitsService
) -> AsyncIterator[httpx.AsyncClient]:
    (tmp_path / "bundle.yaml").write_text(BUNDLE)
    await wired.registry.apply(loader.load([tmp_path / "bundle.yaml"]))
    meters = Meters(session_factory(wired.engine))
    for tenant, amount, offset, key in [
        ("acme", 100, 0, "a1"),
        ("acme", 20, 25, "a2"),
        ("beta", 5000, 0, "a1"),
    ]:
        await meters.record(tenant, "ai_tokens", amount, key=key, ts=AT + timedelta(hours=offset))
    transport = httpx.ASGITransport(app=app_for(wired, service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def as_(tenant: str) -> dict[str, str]:
    return {"X-Test-Tenant": tenant}


async def test_usage_is_the_callers_tenants_only(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/usage", params=WINDOW, headers=as_("acme"))
    assert response.status_code == 200
    body = response.json()
    assert body["tenant_id"] == "acme" and body["totals"] == {"ai_tokens": 120}
    assert body["from"] == "2030-01-01T00:00:00Z" and body["to"] == "2030-02-01T00:00:00Z"
    assert body["buckets"] == [
        {"start": "2030-01-10T00:00:00Z", "resource": "ai_tokens", "amount": 100},
        {"start": "2030-01-11T00:00:00Z", "resource": "ai_tokens", "amount": 20},
    ]
    beta = (await http.get("/api/v1/usage", params=WINDOW, headers=as_("beta"))).json()
    assert beta["totals"] == {"ai_tokens": 5000} and "120" not in str(beta)


async def test_usage_filters(http: httpx.AsyncClient) -> None:
    hourly = await http.get(
        "/api/v1/usage", params={**WINDOW, "granularity": "hour"}, headers=as_("acme")
    )
    assert [b["start"] for b in hourly.json()["buckets"]] == [
        "2030-01-10T09:00:00Z",
        "2030-01-11T10:00:00Z",
    ]
    other = await http.get(
        "/api/v1/usage", params={**WINDOW, "resource": "requests"}, headers=as_("acme")
    )
    assert other.json()["totals"] == {} and other.json()["resource"] == "requests"
    total = await http.get(
        "/api/v1/usage", params={**WINDOW, "granularity": "total"}, headers=as_("acme")
    )
    assert total.json()["buckets"] == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "yesterday"}, "request.invalid"),
        ({"granularity": "week"}, "request.invalid"),
        ({"resource": "x" * 33}, "request.invalid"),
        ({"from": "2030-02-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, "usage.period_invalid"),
        ({"from": "0001-01-01T00:00:00+14:00"}, "usage.period_invalid"),  # before year 1 in UTC
        ({"to": "9999-12-31T23:59:59-14:00"}, "usage.period_invalid"),  # after year 9999 in UTC
        ({"resource": "AI_TOKENS"}, "meter.invalid"),
    ],
)
async def test_bad_queries_are_400_with_the_limit_headers(
    http: httpx.AsyncClient, params: dict[str, str], code: str
) -> None:
    response = await http.get("/api/v1/usage", params=params, headers=as_("acme"))
    assert_problem(response, 400, code)
    if code != "request.invalid":  # refused after the admission: its headers are sent
        assert response.headers["RateLimit-Limit"] == "3"


async def test_ratelimit_headers_then_429_with_retry_after(http: httpx.AsyncClient) -> None:
    seen = []
    for _ in range(3):
        response = await http.get("/api/v1/usage", params=WINDOW, headers=as_("acme"))
        assert response.status_code == 200
        seen.append(response.headers["RateLimit-Remaining"])
        assert response.headers["RateLimit-Policy"] == "3;w=3"
    assert seen == ["2", "1", "0"]
    refused = await http.get("/api/v1/usage", params=WINDOW, headers=as_("acme"))
    body = assert_problem(refused, 429, "rate.limited")
    assert "acme" in str(body["detail"])
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert int(refused.headers["RateLimit-Reset"]) >= 1
    other = await http.get("/api/v1/usage", params=WINDOW, headers=as_("beta"))
    assert other.status_code == 200  # the noisy tenant's limit is its own


async def test_quota_problems(http: httpx.AsyncClient) -> None:
    assert_problem(await http.get("/quota/full", headers=as_("acme")), 403, "quota.exceeded")
    assert_problem(await http.get("/quota/large", headers=as_("acme")), 413, "quota.too_large")


async def test_openapi_documents_the_route_and_its_problems(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/openapi.json")).json()
    route = schema["paths"]["/api/v1/usage"]["get"]
    assert {"400", "401", "403", "404", "429", "503"} <= set(route["responses"])
    assert {p["name"] for p in route["parameters"]} >= {"from", "to", "resource", "granularity"}
    report = schema["components"]["schemas"]["UsageReport"]
    assert {"from", "to", "totals", "buckets"} <= set(report["properties"])


async def test_in_flight_slots_are_held_per_request_and_given_back(
    http: httpx.AsyncClient, service: LimitsService
) -> None:
    app = cast(httpx.ASGITransport, http._transport).app
    app.state.gate = gate = Gate()  # type: ignore[attr-defined]
    slow = asyncio.create_task(http.get("/slow", headers=as_("acme")))
    await gate.entered.wait()
    assert service.requests.held("acme") == 1
    busy = await http.get("/api/v1/usage", params=WINDOW, headers=as_("acme"))
    assert_problem(busy, 429, "concurrency.limited")
    assert busy.headers["Retry-After"] == "1"
    other = await http.get("/api/v1/usage", params=WINDOW, headers=as_("beta"))
    assert other.status_code == 200  # another tenant's slots are its own
    gate.release.set()
    assert (await slow).status_code == 200
    assert service.requests.held("acme") == service.requests.held("beta") == 0
    await http.get("/api/v1/usage", params={"granularity": "week"}, headers=as_("acme"))
    await http.get("/quota/full", headers=as_("acme"))
    assert service.requests.held("acme") == 0  # errors give their slot back too


async def test_authoring_routes_have_their_own_stricter_bucket(http: httpx.AsyncClient) -> None:
    answers = [(await http.post("/definitions", headers=as_("acme"))) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["RateLimit-Limit"] == "2"
    assert answers[2].headers["Retry-After"] == "2"
    read = await http.get("/api/v1/usage", params=WINDOW, headers=as_("acme"))
    assert read.status_code == 200 and read.headers["RateLimit-Remaining"] == "2"

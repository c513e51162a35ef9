"""Helpers of the runtime route tests: an app with the routers and a stand-in for access that
builds the real access proofs from test headers (the access service replaces it; the isolation
suite uses real tokens). The proofs still check the role, and keys are still claimed after it.

Test headers: ``X-Tenant-ID`` and ``X-Team-ID`` as in the spec, ``X-Test-Role`` (default
``team-member``) and ``X-Test-Principal`` (default ``user-1``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from fastapi import APIRouter, FastAPI, Request

from tenantry.api import idempotency, problems
from tenantry.api.caller import TENANT_ACCESS
from tenantry.api.proofs import TenantAccess
from tenantry.api.routes import objects, search, secrets, sessions, state
from tenantry.bootstrap import Services
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.tenancy.access.schemas import Grant, Principal, PrincipalKind, Role
from tenantry.tenancy.manifests.schemas import Channel, Team

TENANTS = ("acme", "bigcorp")
# The teams the tests act for (support has a channel, for sessions that name one).
TEAMS = {
    "support": Team(channels={"slack": Channel(provider="slack")}),
    "sales": Team(),
    "ops": Team(),
}
ROUTERS = (sessions.router, state.router, secrets.router, objects.router, search.router)


def stand_in(proof: type[TenantAccess]) -> Callable[[Request], Awaitable[TenantAccess]]:
    """The dependency returning ``proof`` from test headers (no token): the scope is opened
    and the key claimed like access does it."""

    async def check(request: Request) -> TenantAccess:
        services: Services = request.app.state.services
        team = request.headers.get("X-Team-ID")
        ctx = TenantCtx(
            tenant_id=ids.tenant_id(request.headers.get("X-Tenant-ID")),
            env_id=ids.env_id("prod"),
            team_id=None if team is None else ids.team_id(team),
        )
        role = Role(request.headers.get("X-Test-Role", Role.TEAM_MEMBER.value))
        principal = Principal(
            id=request.headers.get("X-Test-Principal", "user-1"),
            kind=PrincipalKind.USER,
            grants=(Grant(ctx.tenant_id, role, ctx.team_id),),
            credential_id="test-credential",
        )
        access = proof(principal, ctx, role, await services.scopes.open(ctx))
        await idempotency.claim(request, access)
        return access

    return check


def override_access(app: FastAPI) -> None:
    """Replace every tenant-access dependency of ``app`` with its :func:`stand_in`."""
    for dependency, proof in TENANT_ACCESS.items():
        app.dependency_overrides[dependency] = stand_in(proof)


def build_app(services: Services, *extra: APIRouter) -> FastAPI:
    app = FastAPI()
    problems.install(app)
    for router in (*ROUTERS, *extra):
        app.include_router(router)
    app.state.services = services
    override_access(app)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def as_(
    tenant: str = "acme",
    team: str | None = "support",
    role: Role = Role.TEAM_MEMBER,
    principal: str = "user-1",
) -> dict[str, str]:
    headers = {
        "Authorization": "Bearer test",
        "X-Tenant-ID": tenant,
        "X-Test-Role": role.value,
        "X-Test-Principal": principal,
    }
    if team is not None:
        headers["X-Team-ID"] = team
    return headers


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status and body["code"] == code
    return body

"""Issue 10's findings on the full app with real tokens (SQLite and PostgreSQL): idempotent
replays are authorized first and keyed by credential; teams and channels are checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tenantry.tenancy.access.schemas import PrincipalKind
from tenantry.tenancy.manifests.schemas import Bundle, Channel, Environment, Team, TenantSpec
from tests.api.test_access import assert_problem

TEAMS = {"support": Team(channels={"webchat": Channel(provider="webchat")}), "sales": Team()}


@pytest.fixture
async def http(wired: Services) -> AsyncIterator[httpx.AsyncClient]:
    spec = TenantSpec(name="Acme", environments=[Environment(id="prod")], teams=TEAMS)
    await wired.registry.apply(Bundle(tenants={"acme": spec}))
    [outcome] = await wired.controller.reconcile_many(["acme"], concurrency=1)
    assert outcome.result == "ready", outcome.message
    transport = httpx.ASGITransport(app=create_app(services=wired))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        client.headers["X-Tenant-ID"] = "acme"
        yield client


async def _as(wired: Services, role: str, team: str | None, **options: Any) -> dict[str, str]:
    issued = await wired.access.issue_token("alice", tenant="acme", team=team, role=role, **options)
    return {"Authorization": f"Bearer {issued.token}"} | ({"X-Team-ID": team} if team else {})


async def test_a_stored_response_is_replayed_to_its_credential_only(
    wired: Services, http: httpx.AsyncClient
) -> None:
    keyed, body = {"Idempotency-Key": "create-1"}, {"session_id": "create-1"}
    member = await _as(wired, "team-member", "support")
    first = await http.post("/api/v1/sessions", json=body, headers=member | keyed)
    assert first.status_code == 201, first.text
    viewer = await _as(wired, "viewer", "support")
    refused = await http.post("/api/v1/sessions", json=body, headers=viewer | keyed)
    assert_problem(refused, 403, "auth.role_forbidden")
    assert "idempotent-replayed" not in refused.headers
    sales = await _as(wired, "team-member", "sales")
    own = await http.post("/api/v1/sessions", json=body, headers=sales | keyed)
    assert own.status_code == 201 and "idempotent-replayed" not in own.headers
    assert own.json()["team_id"] == "sales"
    again = await http.post("/api/v1/sessions", json=body, headers=member | keyed)
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content


async def test_a_platform_admins_replays_are_its_own(
    wired: Services, http: httpx.AsyncClient
) -> None:
    keyed, body = {"Idempotency-Key": "k-1"}, {"session_id": "s-1"}
    root = await wired.access.issue_token("root", kind=PrincipalKind.PLATFORM_ADMIN)
    admin = {"Authorization": f"Bearer {root.token}", "X-Team-ID": "support"}
    first = await http.post("/api/v1/sessions", json=body, headers=admin | keyed)
    assert first.status_code == 201, first.text
    again = await http.post("/api/v1/sessions", json=body, headers=admin | keyed)
    assert again.headers["idempotent-replayed"] == "true"
    member = await _as(wired, "team-member", "support")
    ran = await http.post("/api/v1/sessions", json=body, headers=member | keyed)
    assert_problem(ran, 409, "session.exists")  # the member's request ran: no admin replay


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("PUT", "/api/v1/secrets/ghost", {"value": "v"}),
        ("POST", "/api/v1/sessions", {"session_id": "s1"}),
        ("GET", "/api/v1/sessions", None),
        ("PUT", "/api/v1/state/s1", {"n": 1}),
        ("GET", "/api/v1/api-keys", None),
    ],
)
async def test_a_team_the_tenant_does_not_have_is_404(
    wired: Services, http: httpx.AsyncClient, method: str, path: str, json: Any
) -> None:
    """Issue 10: ``X-Team-ID: no-such-team`` gave 200 and 201 on runtime routes."""
    admin = await _as(wired, "tenant-admin", None)
    ghost = admin | {"X-Team-ID": "no-such-team"}
    assert_problem(
        await http.request(method, path, json=json, headers=ghost), 404, "team.not_found"
    )
    secrets = await http.get("/api/v1/secrets", headers=admin)
    assert secrets.json()["items"] == []


async def test_a_channel_the_team_does_not_have_is_404(
    wired: Services, http: httpx.AsyncClient
) -> None:
    support, sales = (
        await _as(wired, "team-member", "support"),
        await _as(wired, "team-member", "sales"),
    )
    body = {"session_id": "s1", "channel_id": "webchat"}
    for headers, channel in ((sales, "webchat"), (support, "slack")):
        sent = body | {"channel_id": channel}
        refused = await http.post("/api/v1/sessions", json=sent, headers=headers)
        assert_problem(refused, 404, "channel.not_found")
    created = await http.post("/api/v1/sessions", json=body, headers=support)
    assert created.status_code == 201 and created.json()["channel_id"] == "webchat"

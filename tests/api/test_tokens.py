"""The token routes' edges: reserved subjects, lifetimes and revocation by token id, over HTTP.

Runs on SQLite and on the real PostgreSQL (the app of ``test_access``: the token routes and a
probe route behind ``authorized``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tenantry.bootstrap import Services
from tenantry.tenancy.limits.schemas import LimitsSpec
from tests.api.test_access import Api, _headers, app_for, assert_problem
from tests.integration.access.support import ADMIN_TOKEN, bundle, kit_for


@pytest.fixture
async def api(wired: Services) -> AsyncIterator[Api]:
    kit = await kit_for(wired, reconcile=True)
    transport = httpx.ASGITransport(app=app_for(kit))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Api(http, kit)


async def _issue(api: Api, token: str, **body: Any) -> httpx.Response:
    return await api.http.post(
        "/api/v1/tokens",
        json={"principal": "bob", "role": "viewer", "tenant": "acme", **body},
        headers=_headers(token, {}),
    )


@pytest.mark.parametrize(
    "principal",
    [
        "admin-token",
        "operator",
        "Operator",
        "ADMIN-TOKEN",
        "apikey:0123456789abcdef",
        "ApiKey:x",
        "cli:root",  # the command line's subjects
    ],
)
async def test_built_in_subjects_are_reserved(api: Api, principal: str) -> None:
    admin = await api.token(role="tenant-admin")
    before = await api.kit.access.audit_records()
    for token in (admin, ADMIN_TOKEN):
        body = assert_problem(
            await _issue(api, token, principal=principal), 400, "principal.reserved"
        )
        assert principal in body["detail"]
    assert await api.kit.access.audit_records() == before  # nothing issued, nothing recorded


async def test_a_token_mints_no_token_outliving_it(api: Api) -> None:
    issued = await api.kit.access.issue_token("ann", tenant="acme", role="tenant-admin")
    refused = await _issue(api, issued.token, ttl_seconds=30 * 86_400)
    body = assert_problem(refused, 400, "token.ttl_invalid")
    assert "at most 3600 seconds" in body["detail"] and "issuing it expires" in body["detail"]
    api.kit.clock.advance(timedelta(minutes=45))
    minted = await _issue(api, issued.token)
    assert minted.status_code == 201, minted.text
    assert minted.json()["expires_at"] == issued.expires_at.isoformat().replace("+00:00", "Z")
    over_plan = await _issue(api, ADMIN_TOKEN, ttl_seconds=86_401)
    body = assert_problem(over_plan, 400, "token.ttl_invalid")
    assert "at most 86400 seconds" in body["detail"] and "max_token_ttl" in body["detail"]
    assert_problem(
        await _issue(api, ADMIN_TOKEN, ttl_seconds=30 * 86_400 + 1), 400, "request.invalid"
    )


async def test_tenant_admins_revoke_their_tenants_tokens(api: Api) -> None:
    acme_admin = await api.token(role="tenant-admin")
    globex_admin = await api.token(tenant="globex", role="tenant-admin")
    member = await api.token(role="team-member", team="support")
    victim = await api.kit.access.issue_token("bob", tenant="acme", role="viewer")
    path = f"/api/v1/tokens/{victim.jti}"
    assert (await api.get(victim.token)).status_code == 200
    assert_problem(
        await api.http.delete(path, headers=_headers(globex_admin, {})), 404, "token.not_found"
    )
    assert_problem(
        await api.http.delete(path, headers=_headers(member, {})), 403, "auth.role_forbidden"
    )
    assert (await api.get(victim.token)).status_code == 200
    headers = _headers(acme_admin, {"X-Correlation-ID": "revoke-1"})
    for _ in range(2):  # again: nothing changes
        response = await api.http.delete(path, headers=headers)
        assert response.status_code == 204, response.text
    assert_problem(await api.get(victim.token), 401, "auth.revoked_token")
    records = [r for r in await api.kit.access.audit_records() if r.action == "token.revoke"]
    assert [(r.actor, r.tenant, r.correlation_id) for r in records] == [
        ("alice", "acme", "revoke-1")
    ]
    bad = await api.http.delete("/api/v1/tokens/not-a-jti", headers=_headers(acme_admin, {}))
    assert_problem(bad, 400, "token.id_invalid")


async def test_platform_admins_revoke_tokens_of_the_tenant_they_select(api: Api) -> None:
    victim = await api.kit.access.issue_token("bob", tenant="globex", role="viewer")
    path = f"/api/v1/tokens/{victim.jti}"
    wrong = await api.http.delete(path, headers=_headers(ADMIN_TOKEN, {"tenant": "acme"}))
    assert_problem(wrong, 404, "token.not_found")
    right = await api.http.delete(path, headers=_headers(ADMIN_TOKEN, {"tenant": "globex"}))
    assert right.status_code == 204, right.text
    probe = await api.get(victim.token, tenant="globex")
    assert_problem(probe, 401, "auth.revoked_token")


async def test_revoking_is_limited_as_an_authoring_route(api: Api) -> None:
    given = bundle("acme", "globex")
    limited = given.tenants["acme"].model_copy(
        update={"limits": LimitsSpec(authoring_rate=0.001, authoring_burst=2)}
    )
    await api.kit.services.registry.apply(
        given.model_copy(update={"tenants": {**given.tenants, "acme": limited}})
    )
    api.kit.services.limits.source.invalidate()  # type: ignore[attr-defined]
    admin = await api.token(role="tenant-admin")
    victim = await api.kit.access.issue_token("bob", tenant="acme", role="viewer")
    path = f"/api/v1/tokens/{victim.jti}"
    answers = [(await api.http.delete(path, headers=_headers(admin, {}))) for _ in range(3)]
    assert [a.status_code for a in answers] == [204, 204, 429]
    assert_problem(answers[2], 429, "rate.limited")
    assert "authoring" in answers[2].json()["detail"]

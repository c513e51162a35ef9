"""``GET /api/v1/audit``: a tenant admin sees their chain only, and of another tenant's attempt
on it only that it happened, when, where and how it ended; a platform admin sees every chain.
Runs on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tenantry.api import caller, middleware, problems
from tenantry.api.routes import audit
from tenantry.bootstrap import Services
from tenantry.tenancy.audit.log import AuditLog
from tenantry.tenancy.audit.views import FOREIGN
from tests.api.test_access import Api, Wired, _headers, assert_problem
from tests.integration.access.support import ADMIN_TOKEN, kit_for


@dataclass(frozen=True)
class _Wired(Wired):
    @property
    def audit(self) -> AuditLog:
        return self.services.audit


@pytest.fixture
async def api(wired: Services) -> AsyncIterator[Api]:
    kit = await kit_for(wired, reconcile=True)
    app = FastAPI()
    problems.install(app)
    app.add_middleware(middleware.CorrelationId)
    caller.document_selection(audit.router)
    app.include_router(audit.router)
    app.state.services = _Wired(kit.services, kit.access)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Api(http, kit)


async def _list(api: Api, token: str, **params: Any) -> httpx.Response:
    headers = params.pop("headers", {})
    return await api.http.get("/api/v1/audit", params=params, headers=_headers(token, headers))


async def _attempt_by_globex(api: Api) -> str:
    """A globex admin's token used on acme: refused (403) and recorded on acme's chain."""
    intruder = await api.kit.access.issue_token("mallory", tenant="globex", role="tenant-admin")
    refused = await _list(api, intruder.token, headers={"tenant": "acme"})
    assert_problem(refused, 403, "auth.tenant_mismatch")
    return intruder.jti


async def test_a_tenant_admin_sees_their_chain_without_the_intruders_details(api: Api) -> None:
    jti = await _attempt_by_globex(api)
    await api.kit.access.issue_token("bob", tenant="globex", role="viewer")  # globex's chain
    acme = await api.token(role="tenant-admin")
    response = await _list(api, acme)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert {i["tenant_id"] for i in items} == {"acme"}
    [attempt] = [i for i in items if i["outcome"] == "denied"]
    assert attempt["actor"] == FOREIGN and attempt["credential_id"] is None
    assert attempt["details"] == {"reason": "auth.tenant_mismatch"}
    assert attempt["action"] and attempt["ts"]  # what, when
    for leaked in ("mallory", "globex", jti, "bob"):
        assert leaked not in response.text


async def test_a_platform_admin_sees_every_chain_in_full(api: Api) -> None:
    jti = await _attempt_by_globex(api)
    everything = (await _list(api, ADMIN_TOKEN)).json()["items"]
    assert {"acme", "globex"} <= {i["tenant_id"] for i in everything}
    [attempt] = [i for i in everything if i["outcome"] == "denied"]
    assert attempt["actor"] == "mallory" and attempt["details"]["credential"] == jti
    only = (await _list(api, ADMIN_TOKEN, tenant="globex")).json()["items"]
    assert only and {i["tenant_id"] for i in only} == {"globex"}


async def test_a_tenant_admin_cannot_name_another_chain(api: Api) -> None:
    acme = await api.token(role="tenant-admin")
    assert_problem(await _list(api, acme, tenant="globex"), 404, "audit.chain_not_found")
    assert_problem(await _list(api, acme, tenant="@platform"), 404, "audit.chain_not_found")
    viewer = await api.token(role="viewer")
    assert_problem(await _list(api, viewer), 403, "auth.role_forbidden")


async def test_pages_follow_the_cursor(api: Api) -> None:
    for name in ("a", "b", "c"):
        await api.kit.access.issue_token(name, tenant="acme", role="viewer")
    first = (await _list(api, ADMIN_TOKEN, tenant="acme", limit=2)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = (await _list(api, ADMIN_TOKEN, tenant="acme", cursor=first["next_cursor"])).json()
    assert rest["items"] and rest["items"][0]["id"] < first["items"][-1]["id"]
    forged = await _list(api, ADMIN_TOKEN, tenant="globex", cursor=first["next_cursor"])
    assert_problem(forged, 400, "page.cursor_invalid")


async def test_bad_filters_are_400(api: Api) -> None:
    assert_problem(await _list(api, ADMIN_TOKEN, tenant="Bad Id"), 400, "audit.chain_invalid")
    assert_problem(await _list(api, ADMIN_TOKEN, since="yesterday"), 400, "request.invalid")

"""Access over HTTP: the access-proof dependencies on a tiny tenant router, and the token and
API key routes.

Runs on SQLite and on the real PostgreSQL, with reconciled (active) tenants ``acme`` (teams
support, sales) and ``globex`` (team ops), each with ``prod`` and ``staging`` environments.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Response

from tenantry.api import caller, middleware, problems
from tenantry.api.caller import PlatformAdminDep, Reader, Writer, reader
from tenantry.api.proofs import ReadAccess
from tenantry.api.routes import tokens
from tenantry.bootstrap import Services
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.access.schemas import Grant, Principal, PrincipalKind, Role
from tenantry.tenancy.access.service import AccessService
from tenantry.tenancy.lifecycle.fence.watch import FenceWatch
from tenantry.tenancy.limits.service import LimitsService
from tenantry.tenancy.manifests.schemas import Bundle, Team
from tenantry.tenancy.scopes import Scopes
from tests.integration.access.support import ADMIN_TOKEN, Kit, bundle, kit_for

probe = APIRouter(prefix="/api/v1/probe", tags=["probe"])


@probe.get("")
async def whoami(access: Reader) -> dict[str, Any]:
    ctx = access.ctx
    return {
        "principal": access.principal.id,
        "kind": access.principal.kind.value,
        "tenant": ctx.tenant_id,
        "team": ctx.team_id,
        "env": ctx.env_id,
        "role": access.role.value,
        "correlation_id": ctx.correlation_id,
    }


@probe.put("/state/{session}", status_code=204, response_class=Response)
async def put_state(session: str, body: dict[str, Any], access: Writer) -> None:
    await access.team.state.set(session, body)


@probe.get("/state/{session}")
async def get_state(session: str, access: Reader) -> Any:
    found = await access.team.state.get(session)
    return found if found is not None else Response(status_code=404)


@probe.get("/admin")
async def admin_only(admin: PlatformAdminDep) -> dict[str, str]:
    return {"admin": admin.id}


@dataclass(frozen=True)
class Wired:
    """``bootstrap.Services`` with ``access``, as the lead wires it."""

    services: Services
    access: AccessService

    @property
    def scopes(self) -> Scopes:
        return self.services.scopes

    @property
    def limits(self) -> LimitsService:
        return self.services.limits

    @property
    def fence(self) -> FenceWatch:
        return self.services.fence


def app_for(kit: Kit) -> FastAPI:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(middleware.CorrelationId)
    caller.document_selection(tokens.router)
    app.include_router(tokens.router)
    caller.document_selection(probe)
    app.include_router(probe)
    app.state.services = Wired(kit.services, kit.access)
    return app


@dataclass
class Api:
    http: httpx.AsyncClient
    kit: Kit

    async def token(self, tenant: str | None = "acme", **options: Any) -> str:
        return (await self.kit.access.issue_token("alice", tenant=tenant, **options)).token

    async def get(
        self, token: str | None, path: str = "/api/v1/probe", **headers: str
    ) -> httpx.Response:
        return await self.http.get(path, headers=_headers(token, headers))


def _headers(token: str | None, given: dict[str, str]) -> dict[str, str]:
    names = {"tenant": "X-Tenant-ID", "team": "X-Team-ID", "env": "X-Env-ID"}
    found = {names.get(k, k): v for k, v in given.items()}
    return found | ({"Authorization": f"Bearer {token}"} if token is not None else {})


@pytest.fixture
async def api(wired: Services) -> AsyncIterator[Api]:
    kit = await kit_for(wired, reconcile=True)
    transport = httpx.ASGITransport(app=app_for(kit))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Api(http, kit)  # state lives in the test's own data dir (SQLite): nothing to clear


def _ctx(tenant: str) -> TenantCtx:
    return TenantCtx(tenant_id=ids.tenant_id(tenant), env_id=ids.env_id("prod"))


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status
    return body


async def test_the_spec_example_request(api: Api) -> None:
    token = await api.token(team="support", role="team-member")
    response = await api.get(token, tenant="acme", team="support", **{"X-Correlation-ID": "r-1"})
    assert response.status_code == 200
    assert response.json() == {
        "principal": "alice",
        "kind": "user",
        "tenant": "acme",
        "team": "support",
        "env": "prod",
        "role": "team-member",
        "correlation_id": "r-1",
    }


async def test_a_single_tenant_token_needs_no_header(api: Api) -> None:
    token = await api.token(role="viewer")
    body = (await api.get(token)).json()
    assert (body["tenant"], body["team"], body["env"]) == ("acme", None, "prod")
    staging = (await api.get(token, env="staging")).json()
    assert staging["env"] == "staging"
    assert_problem(await api.get(token, env="dev"), 404, "environment.not_found")


def _forged(token: str) -> str:
    head, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["grants"] = [{"tenant": "globex", "team": None, "role": "tenant-admin"}]
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{head}.{encoded}.{signature}"


async def test_bad_credentials_are_401(api: Api) -> None:
    token = await api.token(role="viewer")
    cases = {
        None: "auth.missing_token",
        "": "auth.missing_token",
        "nonsense": "auth.invalid_token",
        _forged(token): "auth.invalid_token",
        token[:-2]: "auth.invalid_token",
        "tnt_" + "0" * 16 + "_" + "0" * 64: "auth.invalid_token",
    }
    for credential, code in cases.items():
        body = assert_problem(await api.get(credential, tenant="acme"), 401, code)
        assert "globex" not in json.dumps(body)
    basic = await api.http.get("/api/v1/probe", headers={"Authorization": "Basic YTpi"})
    assert_problem(basic, 401, "auth.missing_token")
    assert basic.headers["www-authenticate"] == "Bearer"


async def test_an_expired_token_is_401_expired(api: Api) -> None:
    token = await api.token(role="viewer", ttl=timedelta(minutes=1))
    api.kit.clock.advance(timedelta(minutes=2))
    assert_problem(await api.get(token), 401, "auth.expired_token")


async def test_a_tenant_header_outside_the_token_is_403_and_audited(api: Api) -> None:
    token = await api.token(role="tenant-admin")
    response = await api.get(token, tenant="globex", **{"X-Correlation-ID": "attempt-7"})
    body = assert_problem(response, 403, "auth.tenant_mismatch")
    assert "acme" not in body["detail"]
    denied = [r for r in await api.kit.access.audit_records() if r.outcome == "denied"]
    assert len(denied) == 1
    assert (denied[0].tenant, denied[0].correlation_id, denied[0].action) == (
        "globex",
        "attempt-7",
        "GET /api/v1/probe",
    )
    assert_problem(await api.get(token, tenant="initech"), 403, "auth.tenant_mismatch")


async def test_a_team_the_tenant_does_not_have_is_404_on_tenant_routes(api: Api) -> None:
    """Issue 10: ``X-Team-ID: no-such-team`` was accepted on runtime routes (200, 201)."""
    admin = await api.token(role="tenant-admin")
    for path in ("/api/v1/probe", "/api/v1/probe/state/s1"):
        for team in ("no-such-team", "ops", "default"):  # ops is globex's team, not acme's
            body = assert_problem(await api.get(admin, path, team=team), 404, "team.not_found")
            assert body["detail"] == f"tenant 'acme' has no team '{team}'"
    put = await api.http.put(
        "/api/v1/probe/state/s1", json={"x": 1}, headers=_headers(admin, {"team": "ghost"})
    )
    assert_problem(put, 404, "team.not_found")
    assert (await api.get(admin, team="sales")).status_code == 200
    assert (await api.get(admin)).status_code == 200  # no team: the default team
    root = await api.get(ADMIN_TOKEN, tenant="globex", team="no-such-team")
    assert_problem(root, 404, "team.not_found")


async def test_a_team_added_to_the_manifest_is_served_at_once(api: Api) -> None:
    """Teams are kept per registry generation: a new one needs no restart."""
    admin = await api.token(role="tenant-admin")
    assert_problem(await api.get(admin, team="billing"), 404, "team.not_found")
    given = bundle("acme", "globex").tenants
    acme = given["acme"].model_copy(update={"teams": {**given["acme"].teams, "billing": Team()}})
    await api.kit.services.registry.apply(Bundle(tenants={**given, "acme": acme}))
    assert (await api.get(admin, team="billing")).status_code == 200


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 400, "auth.tenant_required"),
        ({"tenant": "ACME"}, 400, "id.invalid"),
        ({"tenant": "acme", "team": "x y"}, 400, "id.invalid"),
        ({"tenant": "acme", "env": "../prod"}, 400, "id.invalid"),
        ({"tenant": "globex", "team": "support"}, 403, "auth.team_mismatch"),
        ({"tenant": "globex"}, 200, None),
        ({"tenant": "acme", "team": "sales"}, 200, None),
    ],
)
async def test_a_multi_tenant_token_selects_with_headers(
    api: Api, headers: dict[str, str], status: int, code: str | None
) -> None:
    issued = await api.kit.access.issue_grants(
        "alice", [Grant("acme", Role.TENANT_ADMIN), Grant("globex", Role.VIEWER, "ops")]
    )
    response = await api.get(issued.token, **headers)
    if code is None:
        assert response.status_code == 200
    else:
        assert_problem(response, status, code)


async def test_a_header_sent_twice_is_400(api: Api) -> None:
    token = await api.token(role="viewer")
    response = await api.http.get(
        "/api/v1/probe",
        headers=[
            ("Authorization", f"Bearer {token}"),
            ("X-Tenant-ID", "acme"),
            ("X-Tenant-ID", "globex"),
        ],
    )
    assert_problem(response, 400, "auth.header_ambiguous")


async def test_a_suspended_tenant_is_refused_at_once(api: Api) -> None:
    token = await api.token(role="tenant-admin")
    key = await api.kit.access.create_api_key("acme", role="viewer", name="svc")
    assert (await api.get(token)).status_code == 200
    await api.kit.set_tenant("acme", lifecycle_state="suspended")
    for credential in (token, key.secret):
        assert_problem(await api.get(credential), 423, "tenant.suspended")
    listing = await api.http.get("/api/v1/api-keys", headers=_headers(token, {}))
    assert_problem(listing, 423, "tenant.suspended")


async def test_roles_limit_what_a_caller_may_do(api: Api) -> None:
    viewer = await api.token(role="viewer")
    member = await api.token(role="team-member", team="support")
    put = await api.http.put("/api/v1/probe/state/s1", json={"a": 1}, headers=_headers(viewer, {}))
    assert_problem(put, 403, "auth.role_forbidden")
    put = await api.http.put("/api/v1/probe/state/s1", json={"a": 1}, headers=_headers(member, {}))
    assert put.status_code == 204
    assert (await api.get(member, "/api/v1/probe/state/s1")).json() == {"a": 1}


async def test_tenant_b_cannot_reach_tenant_a_whatever_it_sends(api: Api) -> None:
    a = await api.token("acme", role="tenant-admin")
    b = await api.token("globex", role="tenant-admin")
    put = await api.http.put("/api/v1/probe/state/secret", json={"v": "a"}, headers=_headers(a, {}))
    assert put.status_code == 204
    assert (await api.get(b, "/api/v1/probe/state/secret")).status_code == 404
    for headers in ({"tenant": "acme"}, {"tenant": "acme", "team": "support"}):
        assert_problem(
            await api.get(b, "/api/v1/probe/state/secret", **headers), 403, "auth.tenant_mismatch"
        )
    put = await api.http.put(
        "/api/v1/probe/state/secret", json={"v": "b"}, headers=_headers(b, {"tenant": "acme"})
    )
    assert_problem(put, 403, "auth.tenant_mismatch")
    assert (await api.get(a, "/api/v1/probe/state/secret")).json() == {"v": "a"}


async def test_platform_admins_act_on_a_tenant_only_explicitly(api: Api) -> None:
    assert_problem(await api.get(ADMIN_TOKEN), 400, "auth.tenant_required")
    body = (await api.get(ADMIN_TOKEN, tenant="globex", team="ops")).json()
    assert (body["tenant"], body["role"], body["kind"]) == (
        "globex",
        "platform-admin",
        "platform-admin",
    )
    admin_jwt = (await api.kit.access.issue_token("root", kind=PrincipalKind.PLATFORM_ADMIN)).token
    assert (await api.get(admin_jwt, tenant="acme")).status_code == 200
    allowed = [r for r in await api.kit.access.audit_records() if r.outcome == "allowed"]
    assert [(r.tenant, r.actor) for r in allowed] == [("acme", "root"), ("globex", "admin-token")]


async def test_the_platform_admin_dependency(api: Api) -> None:
    user = await api.token(role="tenant-admin")
    assert_problem(await api.get(user, "/api/v1/probe/admin"), 403, "auth.platform_admin_required")
    assert (await api.get(ADMIN_TOKEN, "/api/v1/probe/admin")).json() == {"admin": "admin-token"}
    assert_problem(await api.get(None, "/api/v1/probe/admin"), 401, "auth.missing_token")


async def test_routes_can_override_the_access_dependencies_in_tests(api: Api) -> None:
    """Tests of other routes replace ``reader`` (the dependency) with a fixed proof."""
    app = app_for(api.kit)
    scope: TenantScope = await api.kit.services.scopes.open(_ctx("globex"))
    principal = Principal("tester", PrincipalKind.USER, (), "t")
    app.dependency_overrides[reader] = lambda: ReadAccess(principal, scope.ctx, Role.VIEWER, scope)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        assert (await http.get("/api/v1/probe")).json()["tenant"] == "globex"


# -- /api/v1/tokens -------------------------------------------------------------------------


async def test_platform_admins_issue_tokens_over_http(api: Api) -> None:
    response = await api.http.post(
        "/api/v1/tokens",
        json={"principal": "bob", "tenant": "acme", "team": "support", "role": "team-member"},
        headers=_headers(ADMIN_TOKEN, {}),
    )
    assert response.status_code == 201, response.text
    issued = response.json()
    assert issued["token_type"] == "Bearer" and issued["grants"] == [
        {"tenant": "acme", "team": "support", "role": "team-member"}
    ]
    body = (await api.get(issued["token"])).json()
    assert (body["principal"], body["team"]) == ("bob", "support")


async def test_tenant_admins_issue_tokens_of_their_tenant(api: Api) -> None:
    admin = await api.token(role="tenant-admin")
    own = await api.http.post(
        "/api/v1/tokens",
        json={"principal": "bob", "role": "viewer", "ttl_seconds": 60},
        headers=_headers(admin, {}),
    )
    assert own.status_code == 201 and own.json()["grants"][0]["tenant"] == "acme"
    other = await api.http.post(
        "/api/v1/tokens",
        json={"principal": "bob", "tenant": "globex", "role": "viewer"},
        headers=_headers(admin, {}),
    )
    assert_problem(other, 403, "auth.tenant_mismatch")
    member = await api.token(role="team-member", team="support")
    refused = await api.http.post(
        "/api/v1/tokens", json={"principal": "bob", "role": "viewer"}, headers=_headers(member, {})
    )
    assert_problem(refused, 403, "auth.role_forbidden")


async def _issue(api: Api, token: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await api.http.post(
        "/api/v1/tokens",
        json={"principal": "bob", "role": "viewer", **body},
        headers=_headers(token, headers),
    )


async def _denied(api: Api, correlation: str) -> list[tuple[str | None, str]]:
    records = await api.kit.access.audit_records()
    return [
        (r.tenant, r.action)
        for r in records
        if r.correlation_id == correlation and r.outcome == "denied"
    ]


@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "audited_on"),
    [
        ({}, {"tenant": "globex"}, 201, None, None),  # the header picks among the grants
        ({"tenant": "globex"}, {"tenant": "globex"}, 201, None, None),
        ({"tenant": "acme"}, {"tenant": "globex"}, 403, "auth.tenant_mismatch", "acme"),
        ({"tenant": "globex"}, {"tenant": "acme"}, 403, "auth.tenant_mismatch", "globex"),
        ({}, {"tenant": "initech"}, 403, "auth.tenant_mismatch", "initech"),
        ({"tenant": "initech"}, {}, 403, "auth.tenant_mismatch", "initech"),
        ({}, {}, 400, "auth.tenant_required", None),
        ({}, {"tenant": "acme", "team": "x y"}, 400, "id.invalid", None),
    ],
)
async def test_the_tenant_headers_of_a_token_request_must_be_the_callers_and_agree(
    api: Api,
    body: dict[str, Any],
    headers: dict[str, str],
    status: int,
    code: str | None,
    audited_on: str | None,
) -> None:
    """A tenant admin of acme and of globex: ``X-Tenant-ID`` selects among its tenants, and a
    body naming another tenant than the header's is refused and audited like a foreign one."""
    issued = await api.kit.access.issue_grants(
        "alice", [Grant("acme", Role.TENANT_ADMIN), Grant("globex", Role.TENANT_ADMIN)]
    )
    response = await _issue(api, issued.token, body, **headers, **{"X-Correlation-ID": "try-1"})
    if code is None:
        assert response.status_code == status, response.text
        assert [g["tenant"] for g in response.json()["grants"]] == ["globex"]
    else:
        assert_problem(response, status, code)
    expected = [] if audited_on is None else [(audited_on, "POST /api/v1/tokens")]
    assert await _denied(api, "try-1") == expected


async def test_a_team_header_outside_the_token_is_403_and_audited(api: Api) -> None:
    issued = await api.kit.access.issue_grants(
        "alice", [Grant("acme", Role.TENANT_ADMIN), Grant("globex", Role.VIEWER, "ops")]
    )
    headers = {"tenant": "globex", "team": "support", "X-Correlation-ID": "try-2"}
    assert_problem(await _issue(api, issued.token, {}, **headers), 403, "auth.team_mismatch")
    assert await _denied(api, "try-2") == [("globex", "POST /api/v1/tokens")]
    sales = await _issue(api, issued.token, {}, tenant="acme", team="sales")
    assert sales.status_code == 201, sales.text


async def test_a_platform_admin_selects_any_tenant_audited(api: Api) -> None:
    root = (await api.kit.access.issue_token("root", kind=PrincipalKind.PLATFORM_ADMIN)).token
    for token, actor in ((root, "root"), (ADMIN_TOKEN, "admin-token")):
        response = await _issue(api, token, {}, tenant="globex", **{"X-Correlation-ID": actor})
        assert response.status_code == 201, response.text
        assert response.json()["grants"][0]["tenant"] == "globex"
        records = [r for r in await api.kit.access.audit_records() if r.correlation_id == actor]
        acts = {(r.outcome, r.actor, r.tenant, r.action) for r in records}
        assert ("allowed", actor, "globex", "POST /api/v1/tokens") in acts
    mismatch = await _issue(api, root, {"tenant": "acme"}, tenant="globex")
    assert_problem(mismatch, 403, "auth.tenant_mismatch")
    assert_problem(await _issue(api, root, {}, tenant="initech"), 404, "tenant.not_found")
    assert_problem(await _issue(api, root, {}, team="ops"), 400, "auth.tenant_required")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"principal": "bob", "tenant": "acme", "role": "owner"}, "request.invalid"),
        (
            {"principal": "bob", "tenant": "acme", "role": "viewer", "ttl_seconds": 0},
            "request.invalid",
        ),
        ({"principal": "bob", "tenant": "acme", "role": "viewer", "extra": 1}, "request.invalid"),
        ({"principal": "b b", "tenant": "acme", "role": "viewer"}, "principal.invalid"),
        ({"principal": "bob", "tenant": "ACME", "role": "viewer"}, "id.invalid"),
        ({"principal": "bob", "role": "viewer"}, "grant.invalid"),
    ],
)
async def test_bad_token_requests_are_400(api: Api, body: dict[str, Any], code: str) -> None:
    response = await api.http.post("/api/v1/tokens", json=body, headers=_headers(ADMIN_TOKEN, {}))
    assert_problem(response, 400, code)


async def test_issuing_for_unknown_tenants_and_teams_is_404(api: Api) -> None:
    for body, code in (
        ({"tenant": "initech"}, "tenant.not_found"),
        ({"tenant": "acme", "team": "ops"}, "team.not_found"),
    ):
        response = await api.http.post(
            "/api/v1/tokens",
            json={"principal": "bob", "role": "viewer", **body},
            headers=_headers(ADMIN_TOKEN, {}),
        )
        assert_problem(response, 404, code)


# -- /api/v1/api-keys -----------------------------------------------------------------------


async def test_api_keys_over_http(api: Api) -> None:
    admin = await api.token(role="tenant-admin")
    created = await api.http.post(
        "/api/v1/api-keys",
        json={"name": "ingest", "role": "team-member", "team": "support"},
        headers=_headers(admin, {"tenant": "acme"}),
    )
    assert created.status_code == 201, created.text
    secret, key_id = created.json()["secret"], created.json()["key"]["id"]
    body = (await api.get(secret)).json()
    assert (body["kind"], body["tenant"], body["team"]) == ("service", "acme", "support")
    listing = (await api.http.get("/api/v1/api-keys", headers=_headers(admin, {}))).json()
    assert [k["id"] for k in listing["items"]] == [key_id]
    assert secret not in json.dumps(listing) and "digest" not in json.dumps(listing)
    deleted = await api.http.delete(f"/api/v1/api-keys/{key_id}", headers=_headers(admin, {}))
    assert deleted.status_code == 204
    assert_problem(await api.get(secret), 401, "auth.revoked_key")


async def test_api_keys_are_confined_to_their_tenant(api: Api) -> None:
    acme_key = await api.kit.access.create_api_key("acme", role="tenant-admin", name="a")
    globex = await api.token("globex", role="tenant-admin")
    revoke = await api.http.delete(
        f"/api/v1/api-keys/{acme_key.key.id}", headers=_headers(globex, {})
    )
    assert_problem(revoke, 404, "api_key.not_found")
    listing = (await api.http.get("/api/v1/api-keys", headers=_headers(globex, {}))).json()
    assert listing == {"items": []}
    mismatch = await api.http.get("/api/v1/api-keys", headers=_headers(globex, {"tenant": "acme"}))
    assert_problem(mismatch, 403, "auth.tenant_mismatch")
    # The acme key itself cannot manage globex keys either.
    create = await api.http.post(
        "/api/v1/api-keys",
        json={"name": "x", "role": "viewer"},
        headers=_headers(acme_key.secret, {"tenant": "globex"}),
    )
    assert_problem(create, 403, "auth.tenant_mismatch")
    assert (await api.get(acme_key.secret)).status_code == 200


async def test_api_key_routes_need_tenant_admins(api: Api) -> None:
    member = await api.token(role="team-admin", team="support")
    for method, path in (("GET", ""), ("POST", ""), ("DELETE", "/" + "0" * 16)):
        response = await api.http.request(
            method,
            "/api/v1/api-keys" + path,
            json={"name": "x", "role": "viewer"} if method == "POST" else None,
            headers=_headers(member, {}),
        )
        assert_problem(response, 403, "auth.role_forbidden")
    admin = await api.token(role="tenant-admin")
    bad = await api.http.delete("/api/v1/api-keys/not-a-key", headers=_headers(admin, {}))
    assert_problem(bad, 400, "api_key.id_invalid")


async def test_openapi_documents_access(api: Api) -> None:
    schema = (await api.http.get("/openapi.json")).json()
    tokens_post = schema["paths"]["/api/v1/tokens"]["post"]
    assert {"201", "400", "401", "403", "404"} <= set(tokens_post["responses"])
    keys = schema["paths"]["/api/v1/api-keys"]
    assert {"get", "post"} <= set(keys) and "delete" in schema["paths"]["/api/v1/api-keys/{key_id}"]
    headers = {p["name"] for p in schema["paths"]["/api/v1/probe"]["get"]["parameters"]}
    assert {"X-Tenant-ID", "X-Team-ID", "X-Env-ID"} <= headers
    assert "HTTPBearer" in schema["components"]["securitySchemes"]

"""The API through httpx's ASGI transport, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tenantry.api.app import create_app
from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.access.schemas import PrincipalKind, Role
from tenantry.tenancy.manifests import loader
from tests.conftest import EXAMPLE_BUNDLE

ADMIN = {"Authorization": "Bearer admin-secret"}


def client_for(built: Services) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(built.settings, services=built))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
async def client(wired: Services) -> AsyncIterator[httpx.AsyncClient]:
    await wired.registry.apply(loader.load([EXAMPLE_BUNDLE]))
    async with client_for(wired) as http:
        yield http


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:tenantry:problem:{code}"
    assert {"title", "detail", "instance"} <= body.keys()
    return body


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.json() == {"status": "ready", "checks": {"control_db": "ok"}}


async def test_readiness_fails_when_the_control_db_is_down(tmp_path: object) -> None:
    down = Settings(database_url="postgresql://postgres@127.0.0.1:1/nope", admin_token="x")
    async with services(down, migrate=False) as built, client_for(built) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert_problem(await http.get("/readyz"), 503, "control_db.unavailable")
        listing = await http.get("/api/v1/tenants", headers={"Authorization": "Bearer x"})
        assert_problem(listing, 503, "control_db.unavailable")


async def test_list_and_get_tenants(client: httpx.AsyncClient) -> None:
    listing = (await client.get("/api/v1/tenants", headers=ADMIN)).json()
    assert [t["id"] for t in listing["items"]] == ["acme", "bigcorp"]
    acme = (await client.get("/api/v1/tenants/acme", headers=ADMIN)).json()
    assert acme["environments"] == ["prod", "staging"]
    assert acme["teams"] == ["sales", "support"]
    support = next(t for t in acme["team_details"] if t["id"] == "support")
    assert [c["id"] for c in support["channels"]] == ["slack", "telegram", "webchat"]
    assert acme["flows"] == [{"name": "acme_support_flow", "version": "1.0", "nodes": 1}]
    assert acme["conditions"][0]["type"] == "Ready"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "auth.missing_token"),
        ({"Authorization": "Bearer wrong"}, "auth.invalid_token"),
        ({"Authorization": "Basic YWRtaW46YWRtaW4="}, "auth.missing_token"),
        ({"Authorization": "Bearer"}, "auth.missing_token"),
    ],
)
async def test_admin_routes_need_a_platform_admin_credential(
    client: httpx.AsyncClient, headers: dict[str, str], code: str
) -> None:
    for path in ("/api/v1/tenants", "/api/v1/tenants/acme"):
        response = await client.get(path, headers=headers)
        assert_problem(response, 401, code)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "acme" not in response.text.replace("/api/v1/tenants/acme", "")


async def test_platform_admin_tokens_reach_the_registry_without_an_admin_token(
    settings: Settings,
) -> None:
    """Without TENANTRY_ADMIN_TOKEN the admin token is just a bad bearer; a platform-admin
    token works, and a tenant admin's is refused (403)."""
    unset = settings.model_copy(update={"admin_token": None})
    async with services(unset) as built, client_for(built) as http:
        await built.registry.apply(loader.load([EXAMPLE_BUNDLE]))
        root = await built.access.issue_token("root", kind=PrincipalKind.PLATFORM_ADMIN)
        acme = await built.access.issue_token("ann", tenant="acme", role=Role.TENANT_ADMIN)
        for path in ("/api/v1/tenants", "/api/v1/tenants/acme"):
            assert_problem(await http.get(path, headers=ADMIN), 401, "auth.invalid_token")
            admin = await http.get(path, headers=_bearer(root.token))
            assert admin.status_code == 200, admin.text
            tenant_admin = await http.get(path, headers=_bearer(acme.token))
            assert_problem(tenant_admin, 403, "auth.platform_admin_required")
        listing = await http.get("/api/v1/tenants", headers=_bearer(root.token))
        assert [t["id"] for t in listing.json()["items"]] == ["acme", "bigcorp"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "tenant_id", ["ACME", "a..b", "%00", "a%0Ab", "x" * 200, "\u0430cme", "a_b", "global"]
)
async def test_bad_ids_are_400(client: httpx.AsyncClient, tenant_id: str) -> None:
    response = await client.get(f"/api/v1/tenants/{tenant_id}", headers=ADMIN)
    body = assert_problem(response, 400, "id.invalid")
    assert str(body["detail"]).isascii()


async def test_unknown_tenant_and_route(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/tenants/nope", headers=ADMIN), 404, "tenant.not_found")
    assert_problem(await client.get("/api/v1/nothing-here"), 404, "route.not_found")
    assert_problem(await client.patch("/api/v1/tenants", headers=ADMIN), 405, "method.not_allowed")


async def test_a_body_over_a_routes_limit_is_a_413_problem(client: httpx.AsyncClient) -> None:
    """Announced by Content-Length, it is refused before anything else (even access), as a
    problem document with the request's correlation id."""
    too_big = b"x" * (2 * 1024 * 1024)
    headers = {"Content-Type": "application/json", "X-Correlation-ID": "big-1"}
    response = await client.put("/api/v1/state/s1", content=too_big, headers=headers)
    body = assert_problem(response, 413, "request.too_large")
    assert body["instance"] == "/api/v1/state/s1"
    assert response.headers["x-correlation-id"] == "big-1"


async def test_correlation_ids(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Correlation-ID": "req-123.a_b"})
    assert given.headers["x-correlation-id"] == "req-123.a_b"
    made = await client.get("/healthz", headers={"X-Correlation-ID": "bad id\twith tabs"})
    assert len(made.headers["x-correlation-id"]) == 32
    assert made.headers["x-correlation-id"] != "bad id\twith tabs"


async def test_openapi_documents_routes_and_problems(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert {"/healthz", "/readyz", "/api/v1/tenants", "/api/v1/tenants/{tenant_id}"} <= set(
        schema["paths"]
    )
    get_tenant = schema["paths"]["/api/v1/tenants/{tenant_id}"]["get"]
    assert {"400", "401", "403", "404", "503"} <= set(get_tenant["responses"])
    assert "application/problem+json" in get_tenant["responses"]["404"]["content"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    operations = [op for path in schema["paths"].values() for op in path.values()]
    public = [op for op in operations if not op.get("security")]
    signed = {"kind": "provider-signature"}  # provider webhooks: a signature, no bearer token
    unsigned = [op for op in public if op.get("x-tenantry-access") != signed]
    assert {op["operationId"].split("_")[0] for op in unsigned} == {"healthz", "readyz", "chat"}


async def test_app_opens_its_own_services_in_its_lifespan(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await http.get("/readyz")).status_code == 200
            listing = await http.get("/api/v1/tenants", headers=ADMIN)
            assert listing.json() == {"items": []}

"""``/api/v1/webhooks`` through the whole app: tenant admins manage only their tenant's
endpoints, platform admins the platform's; bad input is refused with a clear problem and
changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tenantry.tenancy.access.schemas import Role
from tenantry.worker.webhooks import WebhookDispatcher
from tests.integration.webhooks.conftest import A, B, announce, rounds
from tests.integration.webhooks.receivers import receiving

PATH = "/api/v1/webhooks"
URL = "https://hooks.example.test/in"
ADMIN = {"Authorization": "Bearer admin-secret"}  # the settings fixture's platform admin


@dataclass(frozen=True, slots=True)
class Clients:
    http: httpx.AsyncClient
    a: dict[str, str]
    b: dict[str, str]
    viewer: dict[str, str]


async def _headers(
    services: Services, tenant: str, role: Role = Role.TENANT_ADMIN
) -> dict[str, str]:
    issued = await services.access.issue_token(f"{role.value}-{tenant}", tenant=tenant, role=role)
    return {"Authorization": f"Bearer {issued.token}", "X-Tenant-ID": tenant}


@pytest.fixture
async def clients(tenants: Services) -> AsyncIterator[Clients]:
    transport = httpx.ASGITransport(app=create_app(services=tenants))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Clients(
            http,
            await _headers(tenants, A),
            await _headers(tenants, B),
            await _headers(tenants, A, Role.VIEWER),
        )


async def _add(c: Clients, headers: dict[str, str], **body: object) -> httpx.Response:
    return await c.http.post(PATH, json={"url": URL, **body}, headers=headers)


async def test_a_tenant_admin_manages_its_endpoints(clients: Clients) -> None:
    added = await _add(clients, clients.a, filters=["tenancy.tenant.*"], description="ops")
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["secret"].startswith("whsec_") and body["endpoint"]["tenant_id"] == A
    endpoint = body["endpoint"]["id"]
    listed = (await clients.http.get(PATH, headers=clients.a)).json()["items"]
    assert [e["id"] for e in listed] == [endpoint] and "secret" not in listed[0]
    rotated = await clients.http.post(f"{PATH}/{endpoint}/rotate", headers=clients.a)
    assert rotated.status_code == 200 and rotated.json()["version"] == 2
    log = await clients.http.get(f"{PATH}/{endpoint}/deliveries", headers=clients.a)
    assert log.json() == {"items": []}
    gone = await clients.http.delete(f"{PATH}/{endpoint}", headers=clients.a)
    assert gone.status_code == 204
    assert (await clients.http.get(PATH, headers=clients.a)).json() == {"items": []}


async def test_another_tenants_endpoint_is_answered_like_a_missing_one(
    clients: Clients, tenants: Services
) -> None:
    mine = (await _add(clients, clients.a)).json()["endpoint"]["id"]
    await announce(tenants, A)
    attempts = [
        ("DELETE", f"{PATH}/{mine}", None),
        ("POST", f"{PATH}/{mine}/rotate", None),
        ("GET", f"{PATH}/{mine}/deliveries", None),
        ("POST", f"{PATH}/{mine}/replay", {"since": "2000-01-01T00:00:00Z"}),
    ]
    for method, path, body in attempts:
        foreign = await clients.http.request(method, path, json=body, headers=clients.b)
        missing = await clients.http.request(
            method, path.replace(mine, "0" * 32), json=body, headers=clients.b
        )
        assert foreign.status_code == missing.status_code == 404, foreign.text
        assert foreign.json()["code"] == missing.json()["code"] == "webhook.not_found"
    assert (await clients.http.get(PATH, headers=clients.b)).json() == {"items": []}
    still = (await clients.http.get(PATH, headers=clients.a)).json()["items"]
    assert [e["id"] for e in still] == [mine] and still[0]["secret_versions"] == 1
    selecting_a = clients.b | {"X-Tenant-ID": A}
    refused = await clients.http.get(PATH, headers=selecting_a)
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.tenant_mismatch")


async def test_platform_endpoints_are_the_platform_admins_alone(clients: Clients) -> None:
    platform = await _add(clients, ADMIN, filters=["*"])
    assert platform.status_code == 201 and platform.json()["endpoint"]["tenant_id"] is None
    tenant = await _add(clients, clients.a)
    assert [e["id"] for e in (await clients.http.get(PATH, headers=ADMIN)).json()["items"]] == [
        platform.json()["endpoint"]["id"]
    ]
    assert [e["id"] for e in (await clients.http.get(PATH, headers=clients.a)).json()["items"]] == [
        tenant.json()["endpoint"]["id"]
    ]
    platform_id = platform.json()["endpoint"]["id"]
    refused = await clients.http.delete(f"{PATH}/{platform_id}", headers=clients.a)
    assert refused.status_code == 404


async def test_a_viewer_may_not_manage_endpoints(clients: Clients) -> None:
    refused = await _add(clients, clients.viewer)
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.role_forbidden")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "ftp://hooks.example.test/in"}, "webhook.url_invalid"),
        ({"url": "https://user:pw@hooks.example.test/in"}, "webhook.url_invalid"),
        ({"url": "http://10.0.0.7/in"}, "webhook.url_invalid"),  # private, not allowed
        ({"url": "http://169.254.169.254/latest"}, "webhook.url_invalid"),  # link-local
        ({"url": "not a url"}, "webhook.url_invalid"),
        ({"url": URL, "filters": ["tenancy.tenant.exploded"]}, "webhook.filter_invalid"),
        ({"url": URL, "filters": ["nothing.*"]}, "webhook.filter_invalid"),
        ({"url": "https://hooks.example.test/" + "x" * 3000}, "request.invalid"),
        ({"url": URL, "filters": ["*"] * 40}, "request.invalid"),
        ({"url": URL, "secret": "mine"}, "request.invalid"),
        ({"filters": []}, "request.invalid"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    clients: Clients, body: dict[str, object], code: str
) -> None:
    refused = await clients.http.post(PATH, json=body, headers=clients.a)
    assert (refused.status_code, refused.json()["code"]) == (400, code), refused.text
    assert (await clients.http.get(PATH, headers=clients.a)).json() == {"items": []}


async def test_bad_replays_are_refused(clients: Clients) -> None:
    mine = (await _add(clients, clients.a)).json()["endpoint"]["id"]
    for body in (
        {},
        {"delivery_id": "0" * 32, "since": "2000-01-01T00:00:00Z"},
        {"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"},
    ):
        refused = await clients.http.post(f"{PATH}/{mine}/replay", json=body, headers=clients.a)
        assert (refused.status_code, refused.json()["code"]) == (400, "webhook.replay_invalid")
    naive = await clients.http.post(
        f"{PATH}/{mine}/replay", json={"since": "2030-01-01T00:00:00"}, headers=clients.a
    )
    assert (naive.status_code, naive.json()["code"]) == (400, "request.invalid")
    unknown = await clients.http.post(
        f"{PATH}/{mine}/replay", json={"delivery_id": "0" * 32}, headers=clients.a
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "webhook.delivery_not_found")


async def test_the_log_and_a_replay_over_the_api(clients: Clients, tenants: Services) -> None:
    async with receiving() as receiver:
        added = await clients.http.post(PATH, json={"url": receiver.url}, headers=clients.a)
        endpoint = added.json()["endpoint"]["id"]
        await announce(tenants, A)
        sender = WebhookDispatcher.of(tenants)
        await rounds(sender)
        (delivered,) = (
            await clients.http.get(f"{PATH}/{endpoint}/deliveries", headers=clients.a)
        ).json()["items"]
        assert (delivered["status"], delivered["attempts"]) == ("succeeded", 1)
        replayed = await clients.http.post(
            f"{PATH}/{endpoint}/replay", json={"delivery_id": delivered["id"]}, headers=clients.a
        )
        assert (
            replayed.status_code == 202
            and replayed.json()["items"][0]["replay_of"] == delivered["id"]
        )
        await rounds(sender)
        await receiver.wait_for(2)
        await sender.aclose()

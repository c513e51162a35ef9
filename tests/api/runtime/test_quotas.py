"""Storage quotas over HTTP: a write the tenant's quota refuses is 403 ``quota.exceeded`` or
413 ``quota.too_large`` as a problem document, writes nothing, and leaves other tenants alone;
a delete gives the room back. Every write route documents both answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tenantry.bootstrap import Services
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.limits.schemas import LimitsSpec, QuotaSpec, StorageSpec
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec
from tests.api.runtime.support import TEAMS, TENANTS, as_, assert_problem, build_app, client

ACME_STORAGE = StorageSpec(
    sessions=QuotaSpec(bytes=100_000, count=1),
    objects=QuotaSpec(bytes=1000, count=2),
    state=QuotaSpec(bytes=100, count=2),
    secrets=QuotaSpec(bytes=1000, count=1),
)
ADMIN = as_(role=Role.TEAM_ADMIN)
WRITES = (
    ("post", "/api/v1/sessions"),
    ("put", "/api/v1/sessions/{session_id}"),
    ("patch", "/api/v1/sessions/{session_id}"),
    ("put", "/api/v1/state/{session_id}"),
    ("put", "/api/v1/objects/{key}"),
    ("put", "/api/v1/secrets/{name}"),
)


@pytest.fixture
async def limited(wired: Services) -> Services:
    """acme on small storage quotas, bigcorp on the standard plan; both reconciled."""
    spec = {
        tenant: TenantSpec(
            name=tenant,
            environments=[Environment(id="prod")],
            teams=TEAMS,
            limits=LimitsSpec(storage=ACME_STORAGE) if tenant == "acme" else None,
        )
        for tenant in TENANTS
    }
    await wired.registry.apply(Bundle(tenants=spec))
    outcomes = await wired.controller.reconcile_many(list(TENANTS), concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    return wired


@pytest.fixture
async def http(limited: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with client(build_app(limited)) as api:
        yield api


async def test_objects_over_the_quota_are_403_and_413_and_written_nowhere(
    http: httpx.AsyncClient,
) -> None:
    url = "/api/v1/objects"
    too_large = await http.put(f"{url}/big", content=b"x" * 1000, headers=as_())
    body = assert_problem(too_large, 413, "quota.too_large")
    assert body["type"] == "urn:tenantry:problem:quota.too_large"
    detail = str(body["detail"])  # the sealed size counts, and the problem says so
    assert "stored bytes (sealed" in detail and "1000 bytes left of the 1000-byte quota" in detail
    for key in ("a", "b"):
        assert (await http.put(f"{url}/{key}", content=b"x", headers=as_())).status_code == 200
    assert_problem(await http.put(f"{url}/c", content=b"x", headers=as_()), 403, "quota.exceeded")
    for key in ("big", "c"):
        assert_problem(await http.get(f"{url}/{key}", headers=as_()), 404, "object.not_found")
    assert (await http.put(f"{url}/c", content=b"x", headers=as_("bigcorp"))).status_code == 200
    assert (await http.delete(f"{url}/a", headers=as_())).status_code == 204
    assert (await http.put(f"{url}/c", content=b"x", headers=as_())).status_code == 200


async def test_state_over_the_quota_is_refused_and_written_nowhere(
    http: httpx.AsyncClient,
) -> None:
    url = "/api/v1/state"
    too_large = await http.put(f"{url}/s0", json="x" * 200, headers=as_())
    assert_problem(too_large, 413, "quota.too_large")
    for session in ("s1", "s2"):
        assert (await http.put(f"{url}/{session}", json=1, headers=as_())).status_code == 204
    assert_problem(await http.put(f"{url}/s3", json=1, headers=as_()), 403, "quota.exceeded")
    for session in ("s0", "s3"):
        assert_problem(await http.get(f"{url}/{session}", headers=as_()), 404, "state.not_found")
    assert (await http.put(f"{url}/s3", json=1, headers=as_("bigcorp"))).status_code == 204


async def test_sessions_and_secrets_over_the_quota_are_403(http: httpx.AsyncClient) -> None:
    sessions, secrets = "/api/v1/sessions", "/api/v1/secrets"
    assert (await http.post(sessions, json={"session_id": "s1"}, headers=as_())).status_code == 201
    refused = await http.post(sessions, json={"session_id": "s2"}, headers=as_())
    assert_problem(refused, 403, "quota.exceeded")
    assert_problem(await http.get(f"{sessions}/s2", headers=as_()), 404, "session.not_found")
    written = await http.put(f"{secrets}/api_key", json={"value": "v1"}, headers=ADMIN)
    assert written.status_code == 200, written.text
    again = await http.put(f"{secrets}/api_key", json={"value": "v2"}, headers=ADMIN)
    assert_problem(again, 403, "quota.exceeded")
    versions = await http.get(f"{secrets}/api_key/versions", headers=as_())
    assert [item["version"] for item in versions.json()["items"]] == [1]


def test_every_write_route_documents_the_quota_answers(limited: Services) -> None:
    schema: dict[str, Any] = build_app(limited).openapi()
    for method, path in WRITES:
        responses = schema["paths"][path][method]["responses"]
        assert "quota.exceeded" in responses["403"]["description"], (method, path)
        assert "quota.too_large" in responses["413"]["description"], (method, path)

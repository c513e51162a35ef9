"""``GET /api/v1/events/schemas``: every schema to a tenant's reader, one by name, a clear 404
for an unknown name, and nothing to a request without a credential."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tenantry.tenancy.events import catalog
from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.events.schemas import EventType
from tenantry.tenancy.events.signing import verify_event
from tenantry.tenancy.registry.database import session_factory
from tests.integration.events.conftest import bundle


@pytest.fixture
async def http(stack: Services) -> AsyncIterator[httpx.AsyncClient]:
    await stack.registry.apply(bundle("acme"))
    await stack.controller.reconcile("acme")
    token = (await stack.access.issue_token("alice", tenant="acme", role="viewer")).token
    transport = httpx.ASGITransport(app=create_app(stack.settings, services=stack))
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": "acme"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers
    ) as client:
        yield client


async def test_every_schema_is_served_as_in_the_code(http: httpx.AsyncClient) -> None:
    listed = await http.get("/api/v1/events/schemas")
    assert listed.status_code == 200, listed.text
    items = {item["name"]: item for item in listed.json()["items"]}
    assert set(items) == {catalog.ENVELOPE, *(t.value for t in EventType)}
    for name, item in items.items():
        assert item["document"] == catalog.every_schema()[name]
        assert item["id"] == catalog.dataschema(name) and item["version"] == catalog.VERSION
    one = await http.get("/api/v1/events/schemas/tenancy.tenant.suspended")
    assert one.status_code == 200
    assert one.json()["document"] == catalog.data_schema(EventType.TENANT_SUSPENDED)


@pytest.mark.parametrize("name", ["tenancy.tenant.nothing", "x" * 300, "%00", "tenancy.event.v2"])
async def test_an_unknown_schema_is_a_clear_404(http: httpx.AsyncClient, name: str) -> None:
    found = await http.get(f"/api/v1/events/schemas/{name}")
    assert found.status_code == 404, found.text
    assert found.json()["code"] == "event.schema_not_found"


async def test_no_credential_no_schemas(http: httpx.AsyncClient) -> None:
    refused = await http.get("/api/v1/events/schemas", headers={"Authorization": ""})
    assert refused.status_code == 401


async def test_the_public_keys_verify_the_events(stack: Services, http: httpx.AsyncClient) -> None:
    listed = await http.get("/api/v1/events/keys")
    assert listed.status_code == 200, listed.text
    keys = {
        item["kid"]: base64.urlsafe_b64decode(item["public_key"] + "=")
        for item in listed.json()["items"]
    }
    assert stack.events is not None
    await stack.events.dispatcher.publish_pending()
    async with session_factory(stack.engine)() as session:
        event = (await session.scalars(select(OutboxRow.event))).first()
    assert event is not None
    assert verify_event(json.dumps(event), keys)["subject"] == "acme"

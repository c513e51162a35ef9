"""One log line per request, with the tenant context, status, duration and correlation id,
never a credential; off with ``request_log=False``."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from tenantry.api.app import create_app
from tenantry.api.requestlog import EVENT
from tenantry.bootstrap import Services
from tenantry.core import logging
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Team, TenantSpec

PATH = "/api/v1/state/s1"


@pytest.fixture
async def token(wired: Services) -> str:
    spec = TenantSpec(name="acme", environments=[Environment(id="prod")], teams={"support": Team()})
    await wired.registry.apply(Bundle(tenants={"acme": spec}))
    [outcome] = await wired.controller.reconcile_many(["acme"], concurrency=1)
    assert outcome.result == "ready", outcome.message
    issued = await wired.access.issue_token("u", tenant="acme", team="support", role="viewer")
    return issued.token


async def _client(wired: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services=wired))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_each_request_logs_one_line_with_its_context(wired: Services, token: str) -> None:
    sent = {"Authorization": f"Bearer {token}", "X-Team-ID": "support", "X-Correlation-ID": "r-1"}
    async for http in _client(wired):
        with capture_logs() as logs:
            await http.get(PATH, headers=sent)
            await http.get("/healthz")
            await http.get(PATH, headers={"Authorization": "Bearer bad"})
            await http.get("/nowhere%0aforged%20line")
    lines = [line for line in logs if line["event"] == EVENT]
    assert len(lines) == 4
    scoped, health, refused, unknown = lines
    assert unknown["status"] == 404 and unknown["path"] == "/nowhere\\nforged line"
    assert scoped == {
        "event": EVENT,
        "log_level": "info",
        "method": "GET",
        "path": "/api/v1/state/{session_id}",
        "status": 404,  # no value yet: the route ran
        "duration_ms": scoped["duration_ms"],
        "tenant_id": "acme",
        "env": "prod",
        "team": "support",
    }
    assert isinstance(scoped["duration_ms"], float) and scoped["duration_ms"] >= 0
    assert health["status"] == 200 and "tenant_id" not in health
    assert refused["status"] == 401 and refused["path"] == "/api/v1/state/{session_id}"


async def test_the_line_carries_the_correlation_id_and_never_a_token(
    wired: Services, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.configure(level="DEBUG", fmt="json")
    sent = {"Authorization": f"Bearer {token}", "X-Correlation-ID": "r-42"}
    try:
        async for http in _client(wired):
            await http.get(PATH, headers=sent)
            await http.get(PATH, headers={**sent, "X-Tenant-ID": "globex"})
            await http.get(PATH, headers={"Authorization": f"Bearer {token}x"})
            body = {"principal": "p", "role": "viewer"}
            await http.post("/api/v1/tokens", json=body, headers=sent)
    finally:
        structlog.reset_defaults()
    out = capsys.readouterr()
    logged = out.out + out.err
    assert logged.count('"event": "request"') == 4
    assert '"correlation_id": "r-42"' in logged
    assert token not in logged and token.split(".")[2] not in logged


async def test_the_request_log_can_be_switched_off(wired: Services) -> None:
    quiet = dataclasses.replace(
        wired, settings=wired.settings.model_copy(update={"request_log": False})
    )
    async for http in _client(quiet):
        with capture_logs() as logs:
            await http.get("/healthz")
    assert not [line for line in logs if line["event"] == EVENT]

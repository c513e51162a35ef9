"""Through the whole API with real tokens: a profile change serves the same data, and a removed
environment answers 404 until it is added back, its data intact (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Profile
from tests.isolation.world import A, World, build, bundle

READS = ("/api/v1/sessions", "/api/v1/objects", "/api/v1/secrets", "/api/v1/search?q=report")


@pytest.fixture
async def world(wired: Services) -> AsyncIterator[World]:
    app = create_app(services=wired)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield await build(wired, http)


async def _acme(world: World, **update: Any) -> None:
    specs = bundle().tenants
    specs[A] = specs[A].model_copy(update=update)
    await world.services.registry.apply(Bundle(tenants=specs))
    outcome = await world.services.controller.reconcile(A)
    assert outcome.result == "ready", outcome.message
    assert not any("retire" in step for step in outcome.steps), outcome.steps


async def _data(world: World) -> dict[str, Any]:
    seen = await world.snapshot(world.a)
    del seen["tenant"]  # the registry row: its generation and conditions change, not the data
    return seen


async def test_a_profile_change_serves_the_same_data(world: World) -> None:
    before = await _data(world)
    await _acme(world, profile=Profile.ST_DEDICATED)
    assert await _data(world) == before


async def test_a_removed_environment_is_not_found_until_added_back(world: World) -> None:
    before = await _data(world)
    await _acme(world, environments=[Environment(id="staging")])
    for path in READS:
        response = await world.http.get(path, headers=world.a.headers())
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "environment.not_found"
    await _acme(world, environments=[Environment(id="staging"), Environment(id="prod")])
    assert await _data(world) == before

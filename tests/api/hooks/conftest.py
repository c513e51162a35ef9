"""Fixtures of the hook tests: acme and bigcorp with provider channels and their secrets, and
the whole API app over them (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tests.api.hooks.support import Keys, install_hooks, world


@pytest.fixture
async def keys(wired: Services) -> dict[str, Keys]:
    return await world(wired)


@pytest.fixture
def app(wired: Services, keys: dict[str, Keys]) -> FastAPI:
    made = create_app(services=wired)
    install_hooks(made, wired)
    return made


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client

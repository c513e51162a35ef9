"""Fixtures of the isolation suite: the whole API app (``create_app``) over services on
SQLite or PostgreSQL (the ``wired`` fixture), with tenants A and B holding data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tests.isolation.world import World, build


@pytest.fixture
async def world(wired: Services) -> AsyncIterator[World]:
    app = create_app(services=wired)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield await build(wired, http)

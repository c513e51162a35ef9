"""Fixtures of the webchat tests: the whole app over services on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tests.api.webchat.support import setup


@pytest.fixture
async def chat(wired: Services) -> Services:
    await setup(wired)
    return wired


@pytest.fixture
async def http(chat: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services=chat))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client

"""Fixtures of the state contract: every test runs on SQLite and on Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tenantry.backends.redis.state import RedisState
from tenantry.backends.sqlite.state import SqliteState
from tests.contract.state.support import (
    REDIS_URL,
    FakeClock,
    Harness,
    RedisHarness,
    SqliteHarness,
    forget_run_keys,
)


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await forget_run_keys(client)
    await client.aclose()


@pytest.fixture(params=["sqlite", "redis"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    if request.param == "sqlite":
        clock = FakeClock()
        database = SqliteState(tmp_path / "state.sqlite3", clock=clock)
        yield SqliteHarness(database, clock)
        await database.aclose()
        return
    client = Redis.from_url(REDIS_URL)
    backend = RedisState(REDIS_URL)
    try:
        yield RedisHarness(backend, client)
    finally:
        await backend.aclose()
        await forget_run_keys(client)
        await client.aclose()

"""State writes on Redis: one script when the write needs no room from the quota, two when it
does (the counted size, then the write under a reservation), and the ledger kept in step.

Counts the commands a real client sends; the quotas live in a SQLite control database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from tenantry.backends.redis.state import RedisState
from tenantry.core import names
from tenantry.tenancy.limits.errors import QuotaExceeded
from tenantry.tenancy.limits.schemas import Resource
from tests.contract.state.support import ENV, REDIS_URL, RUN, CountingRedis
from tests.quotas import control, used

TENANT = f"{RUN}-writes"


def text(size: int) -> str:
    return "x" * (size - 2)


def scripts_run(client: CountingRedis) -> int:
    count = client.sent.count("EVALSHA")
    client.sent = []
    return count


async def test_only_writes_that_need_room_take_two_scripts(
    redis_client: Redis, tmp_path: Path
) -> None:
    client = CountingRedis.from_url(REDIS_URL)  # redis_client: cleans up after a failure
    assert isinstance(client, CountingRedis)
    client.sent = []
    try:
        async with control(tmp_path, [TENANT]) as quotas:  # 300 bytes, 3 values
            store = RedisState(client).bind(TENANT, ENV, quota=quotas.bind(TENANT))
            await store.set("support", "warm", 1)  # loads the scripts on a fresh server
            await store.delete("support", "warm")
            scripts_run(client)
            await store.set("support", "s1", text(100))  # new: reserves first
            assert scripts_run(client) == 2
            await store.set("support", "s1", "y" * 98, ttl=60)  # the same size
            assert scripts_run(client) == 1
            await store.set("support", "s1", text(50))  # a shrink
            assert scripts_run(client) == 1
            await store.set("support", "s1", text(300))  # a growth that fits
            assert scripts_run(client) == 2
            with pytest.raises(QuotaExceeded):
                await store.set("support", "s1", text(301))
            assert scripts_run(client) == 2  # refused, then a thorough purge
            assert await used(quotas, TENANT, Resource.STATE) == (300, 1)
    finally:
        await client.aclose()


async def test_without_a_quota_every_write_is_one_script(redis_client: Redis) -> None:
    client = CountingRedis.from_url(REDIS_URL)
    assert isinstance(client, CountingRedis)
    client.sent = []
    store = RedisState(client).bind(f"{TENANT}-free", ENV)
    try:
        for size, ttl in ((10, None), (10, 60.0), (500, None), (20, 60.0)):
            await store.set("support", "s1", text(size), ttl=ttl)
        assert client.sent == ["EVALSHA"] * 4
    finally:
        await client.aclose()


async def test_a_write_at_once_keeps_the_expiry_ledger(redis_client: Redis) -> None:
    store = RedisState(redis_client).bind(f"{TENANT}-expiry", ENV)
    sizes, expiry = names.state_ledger(f"{TENANT}-expiry", ENV)
    await store.set("support", "s1", text(10), ttl=60)
    assert await redis_client.zscore(expiry, "support:s1") is not None
    await store.set("support", "s1", text(10))  # same size, no expiry now
    assert await redis_client.zscore(expiry, "support:s1") is None
    await store.set("support", "s1", text(5), ttl=60)
    assert await redis_client.zscore(expiry, "support:s1") is not None
    assert await redis_client.hget(sizes, "support:s1") == b"5"


async def test_a_server_without_the_script_gets_it_loaded(redis_client: Redis) -> None:
    store = RedisState(redis_client).bind(f"{TENANT}-load", ENV)
    script = store._ledger._scripts.set
    script.sha = "0" * 40  # as after SCRIPT FLUSH (not sent: other suites share the server)
    await store.set("support", "s1", text(10))
    assert await store.get("support", "s1") == text(10)
    assert script.sha != "0" * 40  # loaded by redis-py's wrapper, then used directly

"""What the state contract tests share: a harness per backend and run-scoped tenant ids.

Redis tests use the logical database in ``TENANTRY_TEST_REDIS`` (default db 14) and delete only
the keys of this run's tenants, whose ids all start with :data:`RUN`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from typing import Any

from hypothesis import HealthCheck, settings
from redis.asyncio import Redis

from tenantry.backends.redis.state import RedisState
from tenantry.backends.sqlite.state import SqliteState
from tenantry.core import names
from tenantry.runtime.state import StateBackend, StateStore

REDIS_URL = os.environ.get("TENANTRY_TEST_REDIS", "redis://127.0.0.1:6379/14")
RUN = f"st{uuid.uuid4().hex[:6]}"
ENV = "prod"


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class Harness:
    """A backend plus what the tests need to look behind it."""

    def __init__(self, name: str, backend: StateBackend) -> None:
        self.name = name
        self.backend = backend
        self.short_ttl = 30.0

    def tenant(self, suffix: str = "") -> str:
        return f"{RUN}-{uuid.uuid4().hex[:8]}{suffix}"

    def bind(self, tenant: str, env: str = ENV, **options: Any) -> StateStore:
        return self.backend.bind(tenant, env, **options)

    async def keys(self) -> set[str]:
        raise NotImplementedError

    async def outlive(self, ttl: float) -> None:
        raise NotImplementedError

    async def plant(self, key: str, raw: bytes) -> None:
        raise NotImplementedError

    async def held(self, tenant: str, env: str = ENV) -> tuple[int, int]:
        """``(bytes, values)`` stored for a tenant environment (SQLite: expired rows too)."""
        raise NotImplementedError

    async def ledger(self, tenant: str, env: str = ENV) -> tuple[int, int]:
        """``(bytes, values)`` the backend counts for a tenant environment (SQLite: each row
        is its own count, so what it holds)."""
        return await self.held(tenant, env)


class SqliteHarness(Harness):
    def __init__(self, backend: SqliteState, clock: FakeClock) -> None:
        super().__init__("sqlite", backend)
        self.database, self.clock = backend, clock

    async def keys(self) -> set[str]:
        return {row[0] for row in await self.database.run("SELECT key FROM state", ())}

    async def outlive(self, ttl: float) -> None:
        self.clock.now += ttl + 1

    async def plant(self, key: str, raw: bytes) -> None:
        await self.database.run("INSERT INTO state VALUES (?, ?, NULL)", (key, raw.decode()))

    async def held(self, tenant: str, env: str = ENV) -> tuple[int, int]:
        prefix = names.state_prefix(tenant, env, every_team=True)
        rows = await self.database.run(
            "SELECT length(CAST(value AS BLOB)) FROM state WHERE key >= ? AND key < ?",
            (prefix, prefix[:-1] + ";"),
        )
        return sum(int(size) for (size,) in rows), len(rows)


class RedisHarness(Harness):
    def __init__(self, backend: RedisState, client: Redis) -> None:
        super().__init__("redis", backend)
        self.client = client
        self.short_ttl = 0.05

    async def keys(self) -> set[str]:
        return {key.decode() async for key in self.client.scan_iter(match="state:*", count=500)}

    async def outlive(self, ttl: float) -> None:
        # Redis checks expiry on access to the millisecond, so sleeping past it is enough.
        await asyncio.sleep(ttl + 0.05)

    async def plant(self, key: str, raw: bytes) -> None:
        await self.client.set(key, raw)

    async def held(self, tenant: str, env: str = ENV) -> tuple[int, int]:
        prefix = names.state_prefix(tenant, env, every_team=True)
        keys = [key async for key in self.client.scan_iter(match=f"{prefix}*", count=500)]
        sizes = [int(await self.client.strlen(key)) for key in keys]
        return sum(sizes), len(sizes)

    async def ledger(self, tenant: str, env: str = ENV) -> tuple[int, int]:
        sizes_key, _ = names.state_ledger(tenant, env)
        sizes = [int(size) for size in await self.client.hvals(sizes_key)]
        return sum(sizes), len(sizes)


class CountingRedis(Redis):
    """A real client that records the commands it sends."""

    sent: list[str]

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]))
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


async def forget_run_keys(client: Redis) -> None:
    """This run's values and their quota ledgers."""
    for pattern in (f"state:{RUN}*", f"state-sizes:{RUN}*", f"state-expiry:{RUN}*"):
        mine = [key async for key in client.scan_iter(match=pattern, count=500)]
        if mine:
            await client.unlink(*mine)


def ops(team: Any, session: Any) -> dict[str, Any]:
    return {
        "get": lambda s: s.get(team, session),
        "set": lambda s: s.set(team, session, "evil"),
        "delete": lambda s: s.delete(team, session),
        "ttl": lambda s: s.ttl(team, session),
    }


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


FEW = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

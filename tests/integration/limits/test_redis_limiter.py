"""The Redis limiter on the real Redis: agrees with pure GCRA, is shared by three OS
processes, and falls back to local limiting (never to none) while Redis is unreachable.

Keys live in logical db 12 (``TENANTRY_TEST_LIMITS_REDIS``) under this run's tenant ids and
are deleted afterwards; nothing else is touched.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from tenantry.backends.redis.limiter import RedisRateLimiter
from tenantry.core import names
from tenantry.tenancy.limits import gcra
from tenantry.tenancy.limits.doors import digest
from tenantry.tenancy.limits.plans import RateLimit
from tenantry.tenancy.limits.schemas import RouteClass
from tests.conftest import REPO

REDIS_URL = os.environ.get("TENANTRY_TEST_LIMITS_REDIS", "redis://127.0.0.1:6379/12")
RUN = f"lim{uuid.uuid4().hex[:6]}"
DEFAULT = RouteClass.DEFAULT
FEW = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def tenant() -> str:
    return f"{RUN}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def limiter() -> AsyncIterator[RedisRateLimiter]:
    built = RedisRateLimiter(REDIS_URL)
    yield built
    mine = [key async for key in built.client.scan_iter(match=f"limit:{RUN}*", count=500)]
    if mine:
        await built.client.unlink(*mine)
    await built.aclose()


steps = st.lists(
    st.tuples(st.floats(min_value=0, max_value=1.5, allow_nan=False), st.integers(1, 3)),
    min_size=1,
    max_size=40,
)


@FEW
@given(
    rate=st.floats(min_value=0.5, max_value=500, allow_nan=False),
    burst=st.integers(3, 20),
    moves=steps,
)
async def test_redis_agrees_with_pure_gcra(
    limiter: RedisRateLimiter, rate: float, burst: int, moves: list[tuple[float, int]]
) -> None:
    who, now, tat = tenant(), 1_700_000_000.0, None
    for delta, cost in moves:
        now += delta
        shared = await limiter.acquire(who, DEFAULT, RateLimit(rate, burst), cost=cost, now=now)
        pure = gcra.decide(now if tat is None else tat, now, rate, burst, cost)
        assert shared == pure
        tat = pure.tat if pure.allowed else tat


async def test_the_key_and_its_expiry(limiter: RedisRateLimiter) -> None:
    who = tenant()
    limit = RateLimit(10.0, 5)
    decisions = [await limiter.acquire(who, DEFAULT, limit) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[-1].retry_after == pytest.approx(0.1, abs=0.02)
    key = f"limit:{who}:default"
    assert float(await limiter.client.get(key)) > time.time()
    assert 0 < await limiter.client.pttl(key) <= 501  # idle again after burst / rate
    await asyncio.sleep(0.6)
    assert not await limiter.client.exists(key)
    assert (await limiter.acquire(who, DEFAULT, limit)).remaining == 4


async def test_classes_and_tenants_do_not_share(limiter: RedisRateLimiter) -> None:
    one, two, limit = tenant(), tenant(), RateLimit(0.01, 2)
    for _ in range(2):
        assert (await limiter.acquire(one, DEFAULT, limit)).allowed
    assert not (await limiter.acquire(one, DEFAULT, limit)).allowed
    assert (await limiter.acquire(one, RouteClass.AUTHORING, limit)).allowed
    assert (await limiter.acquire(two, DEFAULT, limit)).allowed


async def test_a_flushed_script_cache_is_reloaded(limiter: RedisRateLimiter) -> None:
    # SCRIPT FLUSH empties only the script cache (all scripts are reloaded on demand).
    await limiter.client.script_flush()
    assert (await limiter.acquire(tenant(), DEFAULT, RateLimit(1.0, 1))).allowed


async def test_bad_input_reaches_no_key(limiter: RedisRateLimiter) -> None:
    before = [key async for key in limiter.client.scan_iter(match="limit:*", count=500)]
    for bad in ("ACME", "a:b", "*", "global"):
        with pytest.raises(Exception, match="invalid tenant id"):
            await limiter.acquire(bad, DEFAULT, RateLimit(1.0, 1))
    with pytest.raises(ValueError, match="cost"):
        await limiter.acquire(tenant(), DEFAULT, RateLimit(1.0, 1), cost=2)
    after = [key async for key in limiter.client.scan_iter(match="limit:*", count=500)]
    assert sorted(after) == sorted(before)


def spawn(who: str, attempts: int, limit: RateLimit, start: float) -> subprocess.Popen[str]:
    args = [REDIS_URL, who, str(attempts), repr(limit.rate), str(limit.burst), repr(start)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.limits.limit_worker", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def admitted_by(processes: list[subprocess.Popen[str]]) -> list[int]:
    counts = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        counts.append(int(out))
    return counts


async def test_three_processes_share_one_tenants_limit(limiter: RedisRateLimiter) -> None:
    who, limit = tenant(), RateLimit(0.001, 60)  # a burst of 60 and (nearly) no refill
    start = time.time() + 2.0
    counts = admitted_by([spawn(who, 50, limit, start) for _ in range(3)])
    assert sum(counts) == 60  # 150 tried: the burst is shared, not 3 x 60


async def test_three_processes_at_a_window_edge(limiter: RedisRateLimiter) -> None:
    who, limit = tenant(), RateLimit(20.0, 10)
    start = time.time() + 2.0
    processes = [spawn(who, 400, limit, start) for _ in range(3)]
    counts = admitted_by(processes)
    elapsed = time.time() - start
    assert 10 <= sum(counts) <= limit.rate * elapsed + limit.burst


class Proxy:
    """A TCP proxy in front of Redis that can be cut and restored, to stage an outage."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.links):
            writer.close()
        await self.server.wait_closed()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self.links |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
            self.links.discard(writer)


async def test_an_outage_falls_back_to_local_limits_and_recovers(
    limiter: RedisRateLimiter, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy = Proxy()
    await proxy.start()
    db = REDIS_URL.rsplit("/", 1)[1]
    through = RedisRateLimiter(f"redis://127.0.0.1:{proxy.port}/{db}", probe_interval=0.0)
    who, limit = tenant(), RateLimit(0.01, 3)
    try:
        assert (await through.acquire(who, DEFAULT, limit)).allowed and through.shared
        await proxy.cut()
        local = [(await through.acquire(who, DEFAULT, limit)).allowed for _ in range(6)]
        assert local == [True] * 3 + [False] * 3  # limited locally: never unlimited
        assert not through.shared
        await proxy.start()  # Redis is back, with the one request it saw
        shared = [(await through.acquire(who, DEFAULT, limit)).allowed for _ in range(3)]
        assert shared == [True, True, False] and through.shared
    finally:
        await through.aclose()
        await proxy.cut()
    captured = capsys.readouterr()
    logged = captured.out + captured.err  # wherever structlog is configured to write
    assert logged.count("limits.redis_unreachable") == 1  # once per outage, not per request
    assert logged.count("limits.redis_back") == 1


async def test_a_dead_redis_is_skipped_between_probes(capsys: pytest.CaptureFixture[str]) -> None:
    ticks = [0.0]
    dead = RedisRateLimiter("redis://127.0.0.1:1/0", probe_interval=1.0, clock=lambda: ticks[0])
    calls = 0
    original = dead._script

    async def counted(**kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return await original(**kwargs)  # type: ignore[arg-type]

    dead._script = counted  # type: ignore[assignment,method-assign]
    try:
        for _ in range(5):
            await dead.acquire(tenant(), DEFAULT, RateLimit(1.0, 1))
        assert calls == 1  # the first failure opens the interval; the rest stay local
        ticks[0] = 1.0
        await dead.acquire(tenant(), DEFAULT, RateLimit(1.0, 1))
        assert calls == 2
    finally:
        await dead.aclose()
    captured = capsys.readouterr()
    assert (captured.out + captured.err).count("limits.redis_unreachable") == 1


async def test_a_borrowed_client_is_left_open() -> None:
    client = Redis.from_url(REDIS_URL)
    borrowed = RedisRateLimiter(client)
    await borrowed.aclose()
    assert await client.ping()
    await client.aclose()


async def test_a_door_key_is_limited_on_redis_and_shared(limiter: RedisRateLimiter) -> None:
    key = names.door_limit_key("address", digest(f"{RUN}-{uuid.uuid4().hex}"))
    other = RedisRateLimiter(REDIS_URL)  # another API process
    try:
        limit = RateLimit(0.01, 3)
        answers = [await limiter.acquire_key(key, limit, now=1_700_000_000.0) for _ in range(2)]
        answers.append(await other.acquire_key(key, limit, now=1_700_000_000.0))
        refused = await other.acquire_key(key, limit, now=1_700_000_000.0)
        assert [a.allowed for a in answers] == [True] * 3 and not refused.allowed
        assert await limiter.client.exists(key)
    finally:
        await limiter.client.unlink(key)
        await other.aclose()


async def test_door_keys_fall_back_to_local_limits_while_redis_is_down() -> None:
    down = RedisRateLimiter("redis://127.0.0.1:1/0", timeout=0.2)
    try:
        key = names.door_limit_key("credential", digest("x"))
        limit = RateLimit(0.01, 2)
        assert [(await down.acquire_key(key, limit)).allowed for _ in range(3)] == [
            True,
            True,
            False,
        ]
        assert not down.shared
    finally:
        await down.aclose()

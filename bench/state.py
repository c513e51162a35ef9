"""State get+set on Redis through the tenant-confined store vs raw redis-py on the same client.

Both sides use one ``redis.asyncio`` client (the store's own pool) in the same run, the same keys
and the same JSON bytes: the anchor sends the pre-encoded value with ``SET``/``GET``; the store
validates ids, builds the key, checks and encodes the value, and decodes it on the way back.
Figures are seconds per operation (one get or one set), the median of runs in which both sides
take turns every 100 pairs, one operation at a time and with concurrent callers. Keys live in
``TENANTRY_BENCH_REDIS`` (default db 14) under a fresh tenant and are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

from bench.harness import Result
from tenantry.backends.redis.state import RedisState
from tenantry.core import names
from tenantry.runtime.state import JsonValue, StateStore

REDIS_URL = os.environ.get("TENANTRY_BENCH_REDIS", "redis://127.0.0.1:6379/14")
OPS = 2_000  # get+set pairs per run
BLOCK = 100  # pairs per turn
RUNS = 7
WORKERS = 16
SESSIONS = 100
ENV = "prod"
VALUE: dict[str, JsonValue] = {
    "flow": "support_triage",
    "cursor": {"node": "ask_order_number", "step": 3},
    "vars": {"customer": "Ada Lovelace", "order": "A-10023", "retries": 1, "vip": False},
    "transcript": [{"role": "user", "text": "Where is my parcel?"}] * 3,
}


def run() -> list[Result]:
    return asyncio.run(_measure())


async def _measure() -> list[Result]:
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    backend = RedisState(REDIS_URL, max_connections=WORKERS)
    store = backend.bind(tenant, ENV)
    try:
        return [
            await _compare(backend, store, ttl=None, workers=1),
            await _compare(backend, store, ttl=300.0, workers=1),
            await _compare(backend, store, ttl=None, workers=WORKERS),
        ]
    finally:
        await store.clear()
        await backend.aclose()


async def _compare(
    backend: RedisState, store: StateStore, *, ttl: float | None, workers: int
) -> Result:
    client = backend.client
    payload = json.dumps(VALUE, separators=(",", ":")).encode()
    sessions = [f"s{index}" for index in range(SESSIONS)]
    keys = [names.state_key(store.tenant_id, ENV, "support", s) for s in sessions]
    px = None if ttl is None else int(ttl * 1000)

    async def ours(index: int) -> None:
        session = sessions[index % SESSIONS]
        await store.set("support", session, VALUE, ttl=ttl)
        assert await store.get("support", session) == VALUE

    async def raw(index: int) -> None:
        key = keys[index % SESSIONS]
        await client.set(key, payload, px=px)
        assert await client.get(key) == payload

    ours_s, raw_s = await _alternate(ours, raw, workers)
    expiry = "no TTL" if ttl is None else "with TTL"
    callers = "sequential" if workers == 1 else f"{workers} concurrent callers"
    return Result(
        f"state set+get on Redis, {expiry}, {callers} (per op)",
        ours_s * 1e6,
        raw_s * 1e6,
        "raw redis-py SET/GET, same client",
        unit="µs",
    )


Op = Callable[[int], Awaitable[None]]


async def _alternate(ours: Op, raw: Op, workers: int) -> tuple[float, float]:
    """Median seconds per operation of each side; the sides take turns every ``BLOCK`` pairs
    so that both meet the same background load (this machine's 2 cores are shared)."""
    await _timed(ours, workers, BLOCK)  # warm the pool and both code paths
    await _timed(raw, workers, BLOCK)
    ours_runs, raw_runs = [], []
    for _ in range(RUNS):
        totals = [0.0, 0.0]
        for block in range(OPS // BLOCK):
            order = (0, 1) if block % 2 == 0 else (1, 0)
            for side in order:
                totals[side] += await _timed((ours, raw)[side], workers, BLOCK)
        ours_runs.append(totals[0] / (2 * OPS))
        raw_runs.append(totals[1] / (2 * OPS))
    return statistics.median(ours_runs), statistics.median(raw_runs)


async def _timed(op: Op, workers: int, pairs: int) -> float:
    """Seconds for ``pairs`` get+set pairs spread over ``workers`` concurrent callers."""

    async def worker(first: int) -> None:
        for index in range(first, pairs, workers):
            await op(index)

    start = time.perf_counter()
    await asyncio.gather(*(worker(first) for first in range(workers)))
    return time.perf_counter() - start

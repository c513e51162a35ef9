"""A flood of refusals beside a quiet tenant: the full tenant API under uvicorn on loopback.

One API process (``tenantry.api.app:create_app`` on the embedded backends, default door limits)
serves a quiet tenant that sends ``GET /api/v1/state/{session}`` open-loop at ``QUIET_RPS``
(latency measured from the scheduled send, so a slow server cannot hide it). In the flood
rounds ``FLOODERS`` more clients send back to back, as fast as the server answers: half send
a bigcorp team-member token with ``X-Tenant-ID: acme`` (403, audited once per window, then 429
once the credential's door limit is spent), half send forged tokens (401 by client address,
then 429). Quiet and flood rounds alternate ``RUNS`` times; each run's ratio is the quiet
tenant's p99 in the flood round over its p99 in the quiet round before it (target <= 1.5x).
Every run is reported, then the median run. The request log is on (JSON, output dropped).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Final

from bench.harness import Result
from bench.http import Client, free_port, serve
from tenantry.bootstrap import services
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Team, TenantSpec

QUIET: Final = "quiet"
QUIET_RPS: Final = 100.0
FLOODERS: Final = 6
ROUND: Final = float(os.environ.get("TENANTRY_BENCH_REFUSALS_ROUND", "4"))
RUNS: Final = int(os.environ.get("TENANTRY_BENCH_REFUSALS_RUNS", "5"))
SESSION: Final = "s1"
PATH: Final = f"/api/v1/state/{SESSION}"
UNLIMITED: Final = LimitsSpec(rate=100_000, burst=100_000, max_in_flight=1_000)


async def _prepare(settings: Settings) -> tuple[str, str]:
    """The quiet tenant with its state value, acme and bigcorp; a quiet viewer token and a
    bigcorp team-member token."""
    teams = {"support": Team()}
    spec = {
        name: TenantSpec(name=name, environments=[Environment(id="prod")], teams=teams)
        for name in ("acme", "bigcorp")
    }
    spec[QUIET] = TenantSpec(name=QUIET, environments=[Environment(id="prod")], limits=UNLIMITED)
    async with services(settings) as wired:
        await wired.registry.apply(Bundle(tenants=spec))
        outcomes = await wired.controller.reconcile_many(list(spec), concurrency=3)
        assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
        ctx = TenantCtx(tenant_id=ids.tenant_id(QUIET), env_id=ids.env_id("prod"))
        scope = await wired.scopes.open(ctx)
        await scope.state.set(None, SESSION, {"items": list(range(10))})
        quiet = await wired.access.issue_token("bench", tenant=QUIET, role="viewer")
        member = await wired.access.issue_token(
            "flood", tenant="bigcorp", team="support", role="team-member"
        )
    return quiet.token, member.token


async def _quiet(pool: Client, token: str, seconds: float) -> list[float]:
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": QUIET}
    latencies: list[float] = []

    async def one(due: float) -> None:
        status = await pool.get(PATH, headers)
        assert status == 200, f"the quiet tenant got {status}"
        latencies.append(time.perf_counter() - due)

    start, sent, pending = time.perf_counter(), 0, []
    while (due := start + sent / QUIET_RPS) < start + seconds:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        pending.append(asyncio.create_task(one(due)))
        sent += 1
    await asyncio.gather(*pending)
    return latencies


async def _flooder(port: int, n: int, member: str, stop: asyncio.Event, seen: set[int]) -> None:
    pool, sent = Client(port), 0
    try:
        while not stop.is_set():
            if n % 2:
                headers = {"Authorization": f"Bearer {member}", "X-Tenant-ID": "acme"}
            else:
                # a real token's header and claims, a made-up signature: verified, refused
                forged = member.rsplit(".", 1)[0] + f".{n * 10**9 + sent:086d}"
                headers = {"Authorization": f"Bearer {forged}"}
            seen.add(await pool.get(PATH, headers))
            sent += 1
    finally:
        pool.close()


async def _round(port: int, token: str, member: str, *, flood: bool) -> tuple[float, set[int]]:
    """The quiet tenant's p99 over one round, and the statuses the flood got."""
    stop, seen = asyncio.Event(), set[int]()
    flooders = [
        asyncio.create_task(_flooder(port, n, member, stop, seen))
        for n in range(FLOODERS if flood else 0)
    ]
    pool = Client(port)
    try:
        latencies = await _quiet(pool, token, ROUND)
    finally:
        stop.set()
        await asyncio.gather(*flooders)
        pool.close()
    return _p99(latencies), seen


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


async def _runs(port: int, token: str, member: str) -> list[tuple[float, float]]:
    await _round(port, token, member, flood=True)  # warm-up: caches, connections, memos
    runs = []
    for _ in range(RUNS):
        quiet, _ = await _round(port, token, member, flood=False)
        loud, seen = await _round(port, token, member, flood=True)
        assert seen <= {403, 401, 429}, f"the flood got {sorted(seen)}"
        runs.append((loud, quiet))
    return runs


def run() -> list[Result]:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), admin_token=None)
        token, member = asyncio.run(_prepare(settings))
        env = {"TENANTRY_DATA_DIR": folder, "TENANTRY_LOG_FORMAT": "json"}
        with serve("bench.http:app", port, env, quiet=True):  # request log on, output dropped
            runs = asyncio.run(_runs(port, token, member))
    name = f"refusal flood ({FLOODERS} clients: 403s and 401s): quiet tenant's p99"
    rows = [
        Result(f"{name}, run {n}", loud, quiet, "same tenant, no flood")
        for n, (loud, quiet) in enumerate(runs, 1)
    ]
    loud, quiet = sorted(runs, key=lambda r: r[0] / r[1])[len(runs) // 2]
    median = Result(f"{name}, median of {len(runs)} runs (target <= 1.5x)", loud, quiet, "no flood")
    return [*rows, median]

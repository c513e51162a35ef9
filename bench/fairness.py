"""Fairness under a noisy neighbour: the full tenant API under uvicorn on loopback.

Ten tenants share one API process (``tenantry.api.app:create_app`` on the embedded backends),
each on a plan of 20 requests/s (burst 20). Nine well-behaved tenants send 10 requests/s each;
in the noisy rounds a tenth sends 200/s, ten times its rate. Every request is a real tenant
request: a signed token verified, ``X-Tenant-ID`` resolved, the rate limit and an in-flight
slot taken, the scope opened (the registry read) and ``GET /api/v1/state/{session}`` served;
the noisy tenant's refusals are 429 problems with their headers. Load is open-loop (requests
leave on schedule whether or not earlier ones answered) and latency is measured from the
scheduled send, so a slow server cannot hide. After a 2 s warm-up, rounds alternate quiet /
noisy (2 + 2 of ``ROUND`` = 8 s) so drift on the machine hits both alike.

Reported: the well-behaved tenants' success rate (target 100 %), their p99 latency with the
noisy tenant against without it (target <= 1.5x), Jain's fairness index over their successful
throughput (target >= 0.95) and what the noisy tenant got through (its limit, not more).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.harness import Result
from bench.http import Client, free_port, serve
from tenantry.bootstrap import services
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec

RATE: Final = 20.0  # each tenant's limit, requests per second
BURST: Final = 20
QUIET: Final = [f"quiet-{n}" for n in range(1, 10)]
NOISY: Final = "noisy"
QUIET_RPS: Final = 10.0
NOISY_RPS: Final = 10 * RATE
ROUND: Final = float(os.environ.get("TENANTRY_BENCH_FAIRNESS_ROUND", "8"))
SESSION: Final = "s1"
PATH: Final = f"/api/v1/state/{SESSION}"


async def _prepare(settings: Settings) -> dict[str, str]:
    """Ten active tenants on the bench plan, each with a state value; a token for each."""
    spec = {
        tenant: TenantSpec(
            name=tenant,
            environments=[Environment(id="prod")],
            limits=LimitsSpec(rate=RATE, burst=BURST),
        )
        for tenant in [*QUIET, NOISY]
    }
    async with services(settings) as wired:
        await wired.registry.apply(Bundle(tenants=spec))
        outcomes = await wired.controller.reconcile_many(list(spec), concurrency=4)
        assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
        tokens = {}
        for tenant in spec:
            scope = await wired.scopes.open(_ctx(tenant))
            await scope.state.set(None, SESSION, {"tenant": tenant, "items": list(range(10))})
            issued = await wired.access.issue_token("bench", tenant=tenant, role="viewer")
            tokens[tenant] = issued.token
    return tokens


def _ctx(tenant: str) -> TenantCtx:
    return TenantCtx(tenant_id=ids.tenant_id(tenant), env_id=ids.env_id("prod"))


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


def _headers(tokens: dict[str, str], tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[tenant]}", "X-Tenant-ID": tenant}


async def _one(pool: Client, headers: dict[str, str], due: float, tally: Tally) -> None:
    status = await pool.get(PATH, headers)
    tenant = headers["X-Tenant-ID"]
    tally.latencies[tenant].append(time.perf_counter() - due)
    tally.statuses[tenant].append(status)


async def _tenant_load(
    pool: Client,
    headers: dict[str, str],
    rps: float,
    *,
    offset: float,
    tally: Tally,
    seconds: float,
) -> None:
    start, sent, pending = time.perf_counter() + offset, 0, []
    while (due := start + sent / rps) < start + seconds:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        pending.append(asyncio.create_task(_one(pool, headers, due, tally)))
        sent += 1
    await asyncio.gather(*pending)


async def _round(
    port: int, tokens: dict[str, str], *, noisy: bool, tally: Tally, seconds: float = ROUND
) -> None:
    pool = Client(port)
    loads = [
        _tenant_load(
            pool,
            _headers(tokens, tenant),
            QUIET_RPS,
            offset=n / (len(QUIET) * QUIET_RPS),
            tally=tally,
            seconds=seconds,
        )
        for n, tenant in enumerate(QUIET)
    ]
    if noisy:
        noise = _tenant_load(
            pool, _headers(tokens, NOISY), NOISY_RPS, offset=0.0, tally=tally, seconds=seconds
        )
        loads.append(noise)
    try:
        await asyncio.gather(*loads)
    finally:
        pool.close()


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def _jain(values: list[float]) -> float:
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values))


def run() -> list[Result]:
    port = free_port()
    quiet, loud = Tally(), Tally()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), admin_token=None)
        tokens = asyncio.run(_prepare(settings))
        env = {
            "TENANTRY_DATA_DIR": folder,
            "TENANTRY_LOG_LEVEL": "WARNING",
            "TENANTRY_REQUEST_LOG": "false",  # as measured before the log existed
        }
        with serve("tenantry.api.app:create_app", port, env):
            asyncio.run(_round(port, tokens, noisy=True, tally=Tally(), seconds=2.0))  # warm-up
            for _ in range(2):
                asyncio.run(_round(port, tokens, noisy=False, tally=quiet))
                asyncio.run(_round(port, tokens, noisy=True, tally=loud))
    return _results(quiet, loud)


def _results(quiet: Tally, loud: Tally) -> list[Result]:
    statuses = [s for tenant in QUIET for s in loud.statuses[tenant]]
    success = 100.0 * sum(s == 200 for s in statuses) / len(statuses)
    baseline = [x for tenant in QUIET for x in quiet.latencies[tenant]]
    noisy = [x for tenant in QUIET for x in loud.latencies[tenant]]
    served = [sum(s == 200 for s in loud.statuses[tenant]) / (2 * ROUND) for tenant in QUIET]
    through = sum(s == 200 for s in loud.statuses[NOISY]) / (2 * ROUND)
    return [
        Result(
            "fairness: 9 tenants' p99 beside a 10x noisy tenant (full API, uvicorn)",
            _p99(noisy),
            _p99(baseline),
            "same 9 tenants, no noisy one",
        ),
        Result(
            "fairness: 9 well-behaved tenants' success rate (target 100 %)",
            success,
            100.0,
            "target",
            unit="%",
        ),
        Result(
            "fairness: Jain's index over the 9, as a percentage (target >= 95 %)",
            100.0 * _jain(served),
            100.0,
            "perfectly fair",
            unit="%",
        ),
        Result(
            f"fairness: the noisy tenant's 200s (sends {NOISY_RPS:g}/s)",
            through,
            RATE,
            "its rate limit",
            unit="req/s",
        ),
    ]

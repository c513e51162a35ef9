"""Fairness under a noisy neighbour, against a real uvicorn server on loopback.

Ten tenants share one API process whose limiter gives each 20 requests/s (burst 20). Nine
well-behaved tenants send 10 requests/s each; in the noisy rounds a tenth sends 200/s, ten
times its rate. Load is open-loop (requests leave on schedule whether or not earlier ones
answered) and latency is measured from the scheduled send, so a slow server cannot hide.
After a 2 s warm-up, rounds alternate quiet / noisy (2 + 2 of ``ROUND`` = 8 s, about 40 s
in all with the server's start) so drift on the machine hits both alike.

Reported: the well-behaved tenants' success rate (target 100 %), their p99 latency with the
noisy tenant against without it (target <= 1.5x), Jain's fairness index over their successful
throughput (target >= 0.95) and what the noisy tenant got through (its limit, not more).

The server is a tiny FastAPI app (``create_app``): the limits dependency as the access hook
will call it (``LimitsService.admit`` with an in-flight slot, ``limits_middleware`` for the
``RateLimit-*`` headers and the slot) in front of a trivial tenant read from memory, and the
problem handlers for the 429s. The tenant comes from ``X-Tenant-ID`` without a token: this
measures limiting and fairness, not authentication (see ``bench/access.py`` for that).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Final

from fastapi import Depends, FastAPI, Request

from bench.harness import Result
from tenantry.api import limits as limits_http
from tenantry.api import problems
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.tenancy.limits import plans
from tenantry.tenancy.limits.catalog import StaticLimits
from tenantry.tenancy.limits.local import LocalRateLimiter
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.limits.service import LimitsService

REPO: Final = Path(__file__).resolve().parents[1]
RATE: Final = 20.0  # each tenant's limit, requests per second
BURST: Final = 20
QUIET: Final = [f"quiet-{n}" for n in range(1, 10)]
NOISY: Final = "noisy"
QUIET_RPS: Final = 10.0
NOISY_RPS: Final = 10 * RATE
ROUND: Final = float(os.environ.get("TENANTRY_BENCH_FAIRNESS_ROUND", "8"))


def create_app() -> FastAPI:
    """The server: per-tenant limits in front of a trivial tenant read."""
    app = FastAPI()
    app.state.limits = LimitsService(
        StaticLimits(plans.effective(LimitsSpec(rate=RATE, burst=BURST))), LocalRateLimiter()
    )
    app.state.records = {t: {"tenant": t, "items": list(range(10))} for t in [*QUIET, NOISY]}
    problems.install(app)
    app.middleware("http")(limits_http.limits_middleware)
    app.get("/read")(read)
    return app


async def tenant(request: Request) -> TenantCtx:
    """What the access dependency's limits hook does, after a trusted tenant header."""
    ctx = TenantCtx(
        tenant_id=ids.tenant_id(request.headers.get("X-Tenant-ID")), env_id=ids.env_id("prod")
    )
    limits: LimitsService = request.app.state.limits
    limits_http.remember(
        request, await limits.admit(ctx, limits_http.route_class_of(request), hold_slot=True)
    )
    return ctx


async def read(request: Request, ctx: Annotated[TenantCtx, Depends(tenant)]) -> dict[str, object]:
    records: dict[str, dict[str, object]] = request.app.state.records
    return records[ctx.tenant_id]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


class Pool:
    """Keep-alive HTTP/1.1 connections to the server, one request at a time on each."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, tenant: str) -> int:
        reader, writer = self.idle.pop() if self.idle else await self._open()
        writer.write(f"GET /read HTTP/1.1\r\nHost: bench\r\nX-Tenant-ID: {tenant}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return int(head[9:12])

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def _one(pool: Pool, tenant: str, due: float, tally: Tally) -> None:
    status = await pool.get(tenant)
    tally.latencies[tenant].append(time.perf_counter() - due)
    tally.statuses[tenant].append(status)


async def _tenant_load(
    pool: Pool, tenant: str, rps: float, *, offset: float, tally: Tally, seconds: float
) -> None:
    start, sent, pending = time.perf_counter() + offset, 0, []
    while (due := start + sent / rps) < start + seconds:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        pending.append(asyncio.create_task(_one(pool, tenant, due, tally)))
        sent += 1
    await asyncio.gather(*pending)


async def _round(port: int, *, noisy: bool, tally: Tally, seconds: float = ROUND) -> None:
    pool = Pool(port)
    loads = [
        _tenant_load(
            pool,
            tenant,
            QUIET_RPS,
            offset=n / (len(QUIET) * QUIET_RPS),
            tally=tally,
            seconds=seconds,
        )
        for n, tenant in enumerate(QUIET)
    ]
    if noisy:
        loads.append(_tenant_load(pool, NOISY, NOISY_RPS, offset=0.0, tally=tally, seconds=seconds))
    try:
        await asyncio.gather(*loads)
    finally:
        pool.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.contextmanager
def _server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "uvicorn", "bench.fairness:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen([*command, "--no-access-log"], cwd=REPO)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def _jain(values: list[float]) -> float:
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values))


def run() -> list[Result]:
    port = _free_port()
    quiet, loud = Tally(), Tally()
    with _server(port):
        asyncio.run(_round(port, noisy=True, tally=Tally(), seconds=2.0))  # warm-up
        for _ in range(2):
            asyncio.run(_round(port, noisy=False, tally=quiet))
            asyncio.run(_round(port, noisy=True, tally=loud))
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
            "fairness: 9 tenants' p99 beside a 10x noisy tenant (uvicorn, loopback)",
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

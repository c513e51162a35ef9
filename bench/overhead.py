"""Tenant-scoped request overhead on a real server: a scoped route against a bare one, same server.

One uvicorn process serves the full tenant API (``tenantry.api.app:create_app`` on the embedded
backends) plus :func:`app`'s bare route ``GET /bare/state/{session}``, which reads the same
state value through a scope opened once and answers the same JSON, with no credential, no
tenant resolution, no limits and no registry check. Both pass the same middleware (the door
limit takes the bare route's requests by client address: its limit is raised here). The scoped
side is the spec's request: ``GET /api/v1/state/{session}`` with a signed token and
``X-Tenant-ID`` (verification, resolution, admission with its ``RateLimit-*`` headers, the
registry check that opens the scope, the read). The tenant's limits never refuse, so what is
measured is the cost of taking them, not their refusals.

The load is closed-loop: ``CONNECTIONS`` keep-alive connections each send their next request
as soon as the last one answered, for ``SECONDS``; scoped and bare rounds alternate ``ROUNDS``
times and the median throughput of each side is reported (and its inverse, the time per
request). The client runs in this process, the server in its own. Measured with the request
log off, then again with it on (JSON lines, written to nowhere).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request

from bench.harness import Result
from bench.http import Client, free_port, serve
from tenantry.api.app import create_app
from tenantry.api.schemas.state import StateOut
from tenantry.bootstrap import services
from tenantry.core import ids, logging
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec

TENANT: Final = "acme"
SESSION: Final = "s1"
VALUE: Final = {"step": 1, "items": list(range(10))}
CONNECTIONS: Final = 8
SECONDS: Final = float(os.environ.get("TENANTRY_BENCH_OVERHEAD_SECONDS", "3"))
ROUNDS: Final = 3
UNLIMITED: Final = LimitsSpec(rate=1_000_000, burst=1_000_000, max_in_flight=1_000)
_DOORS_OPEN: Final = {  # taken on every request, never refusing (like the tenant's limits)
    f"TENANTRY_DOOR_{kind}_{field}": "1000000"
    for kind in ("CREDENTIAL", "ADDRESS")
    for field in ("RATE", "BURST")
}
_CTX: Final = TenantCtx(tenant_id=ids.tenant_id(TENANT), env_id=ids.env_id("prod"))


def app() -> FastAPI:
    """The tenant API plus the bare route (the server's factory), logging as set."""
    settings = Settings()
    logging.configure(level=settings.log_level, fmt=settings.log_format)
    served = create_app(settings)
    opened: list[TenantScope] = []

    @served.get("/bare/state/{session}")
    async def bare(session: str, request: Request) -> StateOut:
        if not opened:
            opened.append(await request.app.state.services.scopes.open(_CTX))
        value = await opened[0].state.get(None, session)
        return StateOut(session_id=session, team_id=_CTX.team, value=value)

    return served


async def _prepare(settings: Settings) -> str:
    """The tenant, reconciled, with its state value; a token of it."""
    spec = TenantSpec(name=TENANT, environments=[Environment(id="prod")], limits=UNLIMITED)
    async with services(settings) as wired:
        await wired.registry.apply(Bundle(tenants={TENANT: spec}))
        [outcome] = await wired.controller.reconcile_many([TENANT], concurrency=1)
        assert outcome.result == "ready", outcome.message
        scope = await wired.scopes.open(_CTX)
        await scope.state.set(None, SESSION, VALUE)
        issued = await wired.access.issue_token("bench", tenant=TENANT, role="viewer")
    return issued.token


async def _throughput(port: int, path: str, headers: dict[str, str], seconds: float) -> float:
    """Requests per second answered 200 by ``CONNECTIONS`` closed-loop senders."""
    pool, done = Client(port), [0]
    deadline = time.perf_counter() + seconds

    async def sender() -> None:
        while time.perf_counter() < deadline:
            status = await pool.get(path, headers)
            assert status == 200, f"{path} answered {status}"
            done[0] += 1

    start = time.perf_counter()
    try:
        await asyncio.gather(*(sender() for _ in range(CONNECTIONS)))
    finally:
        pool.close()
    return done[0] / (time.perf_counter() - start)


async def _rounds(port: int, token: str) -> tuple[float, float]:
    scoped = (
        f"/api/v1/state/{SESSION}",
        {"Authorization": f"Bearer {token}", "X-Tenant-ID": TENANT},
    )
    bare: tuple[str, dict[str, str]] = (f"/bare/state/{SESSION}", {})
    for path, headers in (scoped, bare):  # warm both (caches, connections, the scope)
        await _throughput(port, path, headers, 1.0)
    ours, anchor = [], []
    for _ in range(ROUNDS):
        ours.append(await _throughput(port, *scoped, SECONDS))
        anchor.append(await _throughput(port, *bare, SECONDS))
    return statistics.median(ours), statistics.median(anchor)


def run() -> list[Result]:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), admin_token=None)
        token = asyncio.run(_prepare(settings))
        env = {"TENANTRY_DATA_DIR": folder, "TENANTRY_LOG_LEVEL": "WARNING", **_DOORS_OPEN}
        with serve("bench.overhead:app", port, {**env, "TENANTRY_REQUEST_LOG": "false"}):
            ours, anchor = asyncio.run(_rounds(port, token))
        logged = {**env, "TENANTRY_LOG_LEVEL": "INFO", "TENANTRY_LOG_FORMAT": "json"}
        with serve("bench.overhead:app", port, logged, quiet=True):  # the log lines dropped
            ours_logged, anchor_logged = asyncio.run(_rounds(port, token))
    return [
        Result(
            "served: scoped route (token, door and tenant limits, resolution, registry check, "
            f"state read), per request at {CONNECTIONS} connections, request log off",
            1 / ours,
            1 / anchor,
            "bare route, same server and read",
        ),
        Result(
            "served: scoped route throughput, as a percentage of the bare route's "
            "(target >= 80 %), request log off",
            100.0 * ours / anchor,
            100.0,
            "the bare route",
            unit="%",
        ),
        Result(
            "served: the same with the request log on (JSON lines; the bare route logs too)",
            100.0 * ours_logged / anchor_logged,
            100.0,
            "the bare route",
            unit="%",
        ),
    ]

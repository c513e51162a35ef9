"""A flood of refusals beside a quiet tenant: the full tenant API under uvicorn on loopback.

One API process (``tenantry.api.app:create_app`` on the embedded backends, default door limits)
serves a quiet tenant that sends ``GET /api/v1/state/{session}`` open-loop at ``QUIET_RPS``
(720 samples a round by default, so that a round's p99 is not one or two requests).
In the flood rounds ``FLOODERS`` more clients, in a process of their own (so the measuring
loop serves the quiet tenant alone) and with interleaved send times, send open-loop at
``FLOOD_RPS`` each: half a
bigcorp team-member token with ``X-Tenant-ID: acme`` (403, audited once per window, then 429
once the credential's door limit is spent), half forged tokens (401 by client address, then
429). Latency is measured from the scheduled send, so a slow server cannot hide it. The flood
is open-loop so that it measures what a refusal costs: a closed loop saturates the one server
process whatever a request costs. Quiet and flood rounds alternate ``RUNS`` times; each run's
ratio is the quiet tenant's p99 in the flood round over its p99 in the quiet round before it
(target <= 1.5x).
Every run is reported, then the median run. The request log is on (JSON, output dropped).
Last, what a door refusal costs against a served read, in process (the ASGI app called
directly, no server and no client, request log off), which machine load distorts less.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable, MutableMapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI

from bench.harness import Result
from bench.http import Client, free_port, serve
from tenantry.api.app import create_app
from tenantry.bootstrap import services
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Team, TenantSpec

QUIET: Final = "quiet"
# 90/s (under the quiet credential's door rate) for 8 s: 720 samples a round, so a p99 is the
# 8th slowest request rather than the 2nd of 200
QUIET_RPS: Final = float(os.environ.get("TENANTRY_BENCH_REFUSALS_QUIET_RPS", "90"))
FLOODERS: Final = 6
FLOOD_RPS: Final = 50.0  # each: 300/s in all, 3x the credential's and 30x the address's rate
ROUND: Final = float(os.environ.get("TENANTRY_BENCH_REFUSALS_ROUND", "8"))
RUNS: Final = int(os.environ.get("TENANTRY_BENCH_REFUSALS_RUNS", "5"))
COST_REQUESTS: Final = 300
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


async def _paced(
    pool: Client,
    headers: Callable[[int], dict[str, str]],
    rps: float,
    seconds: float,
    *,
    phase: float = 0.0,
) -> tuple[list[float], list[int]]:
    """Send ``GET PATH`` open-loop at ``rps`` for ``seconds``, ``phase`` seconds late (request
    ``n`` with ``headers(n)``); each latency from its scheduled send, and each status."""
    latencies: list[float] = []
    statuses: list[int] = []

    async def one(due: float, n: int) -> None:
        statuses.append(await pool.get(PATH, headers(n)))
        latencies.append(time.perf_counter() - due)

    start, sent, pending = time.perf_counter() + phase, 0, []
    while (due := start + sent / rps) < start + seconds:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        pending.append(asyncio.create_task(one(due, sent)))
        sent += 1
    await asyncio.gather(*pending)
    return latencies, statuses


def _flood(member: str, client: int) -> Callable[[int], dict[str, str]]:
    """Odd clients select another tenant with a real token (403, then 429); even ones send a
    real token's header and claims with a made-up signature, new each time (401, then 429)."""
    if client % 2:
        return lambda _: {"Authorization": f"Bearer {member}", "X-Tenant-ID": "acme"}
    unsigned = member.rsplit(".", 1)[0]
    return lambda n: {"Authorization": f"Bearer {unsigned}.{client * 10**9 + n:086d}"}


def _flooding(port: int, member: str) -> set[int]:
    """The flood of one round, in a process of its own (so the measuring client's event loop
    serves the quiet tenant alone): the clients' sends interleaved, not all at one instant.
    The statuses it got."""

    async def flood() -> list[tuple[list[float], list[int]]]:
        pool = Client(port)
        spacing = 1 / (FLOOD_RPS * FLOODERS)
        try:
            return await asyncio.gather(
                *(
                    _paced(pool, _flood(member, n), FLOOD_RPS, ROUND, phase=n * spacing)
                    for n in range(FLOODERS)
                )
            )
        finally:
            pool.close()

    return {status for _, got in asyncio.run(flood()) for status in got}


async def _round(
    port: int, token: str, member: str, flooder: ProcessPoolExecutor | None
) -> tuple[float, set[int]]:
    """The quiet tenant's p99 over one round (flooded when given a ``flooder``), and the
    statuses the flood got."""
    pool = Client(port)
    quiet = {"Authorization": f"Bearer {token}", "X-Tenant-ID": QUIET}
    loop = asyncio.get_running_loop()
    flooded = (
        loop.run_in_executor(flooder, _flooding, port, member) if flooder is not None else None
    )
    try:
        latencies, statuses = await _paced(pool, lambda _: quiet, QUIET_RPS, ROUND)
        seen = await flooded if flooded is not None else set()
    finally:
        pool.close()
    assert set(statuses) == {200}, f"the quiet tenant got {sorted(set(statuses))}"
    return _p99(latencies), seen


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


async def _runs(port: int, token: str, member: str) -> list[tuple[float, float]]:
    runs = []
    with ProcessPoolExecutor(1) as flooder:
        await _round(port, token, member, flooder)  # warm-up: caches, connections, memos
        for _ in range(RUNS):
            quiet, _ = await _round(port, token, member, None)
            loud, seen = await _round(port, token, member, flooder)
            assert seen <= {403, 401, 429}, f"the flood got {sorted(seen)}"
            runs.append((loud, quiet))
    return runs


async def _asgi(app: FastAPI, headers: dict[str, str]) -> int:
    """One ``GET PATH`` through the app's ASGI interface, no server, no client; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
    }
    status: list[int] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


async def _costs(settings: Settings, token: str, member: str) -> tuple[float, float]:
    """Seconds per request, in process: a request refused at the door (429: a forged token
    from an address over its limit) and a served one (the quiet tenant's read), median of
    5 x 300. The credential's door limit is opened so the served reads are never refused."""
    quiet = {"Authorization": f"Bearer {token}", "X-Tenant-ID": QUIET}
    flood = {"Authorization": f"Bearer {member.rsplit('.', 1)[0]}.{0:086d}"}
    opened = {"request_log": False, "door_credential_rate": 1e6, "door_credential_burst": 10**6}
    async with services(settings.model_copy(update=opened)) as wired:
        app = create_app(services=wired)
        assert await _asgi(app, quiet) == 200  # known before its address is refused
        for _ in range(50):  # past the address's door burst: every later request is a 429
            await _asgi(app, flood)
        timed: dict[str, list[float]] = {"refused": [], "served": []}
        for _ in range(5):
            for name, headers, wanted in (("refused", flood, {429, 401}), ("served", quiet, {200})):
                start = time.perf_counter()
                for _ in range(COST_REQUESTS):  # (the address earns a 401 every 0.1 s)
                    got = await _asgi(app, headers)
                    assert got in wanted, (name, got)
                timed[name].append((time.perf_counter() - start) / COST_REQUESTS)
    return statistics.median(timed["refused"]), statistics.median(timed["served"])


def run() -> list[Result]:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), admin_token=None)
        token, member = asyncio.run(_prepare(settings))
        refused, served = asyncio.run(_costs(settings, token, member))
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
    cost = Result(
        "refusal flood: a request refused at the door (429), in process, no server",
        refused,
        served,
        "a served read, same app",
    )
    return [*rows, median, cost]

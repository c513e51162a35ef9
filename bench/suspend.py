"""Suspend latency: from the suspend request to the first refused request in another API process.

Two uvicorn processes serve the tenant API on one control database (SQLite, then PostgreSQL).
A prober keeps ``PROBES`` keep-alive connections to the second one busy with ``GET
/api/v1/state/s1`` for the tenant; the benchmark process requests the suspend through the
lifecycle service (the one call the suspend route makes) and times the first 423 the prober
reads. The same clock then times the suspend job (run here, as ``tenantry suspend --wait``
runs it) to its end: the drain of both API processes and this one. Each run is followed by a
resume, and by a wait until the second process serves the tenant again. Target: the first
refusal within 1 s; the median and the maximum of ``RUNS`` runs are reported.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Final

import psycopg
from psycopg import sql

from bench.harness import Result
from bench.http import Client, free_port, serve
from tenantry.bootstrap import Services, services
from tenantry.core import ids, names
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec

ADMIN_URL: Final = "postgresql://postgres@127.0.0.1:5432/postgres"
RUNS: Final = 7
PROBES: Final = 2
TARGET: Final = 1.0  # seconds, issue 11
UNLIMITED: Final = LimitsSpec(rate=1_000_000, burst=1_000_000, max_in_flight=1_000)
_OPEN_DOORS: Final = {
    f"TENANTRY_DOOR_{kind}_{field}": "1000000"
    for kind in ("CREDENTIAL", "ADDRESS", "REFUSAL")
    for field in ("RATE", "BURST")
}


def run() -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        results += _measure(None, Path(folder) / "sqlite", "SQLite", "acme")
        name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
            results += _measure(url, Path(folder) / "pg", "PostgreSQL", tenant)
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
                role = names.sql_role(tenant, "prod")
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    return results


def _measure(url: str | None, folder: Path, label: str, tenant: str) -> list[Result]:
    settings = Settings(database_url=url, data_dir=folder, request_log=False)
    token = asyncio.run(_prepare(settings, tenant))
    env = {
        "TENANTRY_DATA_DIR": str(folder),
        "TENANTRY_REQUEST_LOG": "false",
        "TENANTRY_LOG_LEVEL": "WARNING",
        **_OPEN_DOORS,
    }
    if url is not None:
        env["TENANTRY_DATABASE_URL"] = url
    first, second = free_port(), free_port()
    with (
        serve("bench.http:app", first, env, quiet=True),
        serve("bench.http:app", second, env, quiet=True),
    ):
        refused, done = asyncio.run(_runs(settings, tenant, token, second))
    return [
        _row(f"suspend → first 423 in another API process, median of {RUNS} ({label})", refused),
        _row(f"suspend → first 423 in another API process, max of {RUNS} ({label})", refused, max),
        _row(
            f"suspend job done (drained in 3 processes), median of {RUNS} ({label})",
            done,
            anchor="1 s, for scale (no target)",
        ),
    ]


def _row(
    name: str,
    samples: list[float],
    pick: Callable[[list[float]], float] = statistics.median,
    *,
    anchor: str = "target (issue 11)",
) -> Result:
    return Result(name, pick(samples), TARGET, anchor)


async def _prepare(settings: Settings, tenant: str) -> str:
    async with services(settings) as wired:
        spec = TenantSpec(name=tenant, environments=[Environment(id="prod")], limits=UNLIMITED)
        await wired.registry.apply(Bundle(tenants={tenant: spec}))
        [outcome] = await wired.controller.reconcile_many([tenant], concurrency=1)
        assert outcome.result == "ready", outcome.message
        ctx = TenantCtx(tenant_id=ids.tenant_id(tenant), env_id=ids.env_id("prod"))
        await (await wired.scopes.open(ctx)).state.set(None, "s1", {"step": 1})
        issued = await wired.access.issue_token("bench", tenant=tenant, role="tenant-admin")
    return issued.token


async def _runs(
    settings: Settings, tenant: str, token: str, port: int
) -> tuple[list[float], list[float]]:
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": tenant}
    refused: list[float] = []
    done: list[float] = []
    async with services(settings) as wired:
        for _ in range(RUNS):
            await _until_status(port, headers, 200)
            first_refusal, finished = await _once(wired, tenant, port, headers)
            refused.append(first_refusal)
            done.append(finished)
            resume = await wired.lifecycle.request(JobKind.RESUME, tenant, actor="bench")
            resumed = await wired.jobs.run(resume.id)
            assert resumed is not None and resumed.state is JobState.SUCCEEDED
    return refused, done


async def _once(
    wired: Services, tenant: str, port: int, headers: dict[str, str]
) -> tuple[float, float]:
    """One suspend: seconds to the first 423 read from ``port``, and to the job's end."""
    first_refusal: list[float] = []
    stop = asyncio.Event()

    async def probe() -> None:
        client = Client(port)
        try:
            while not stop.is_set():
                status = await client.get("/api/v1/state/s1", headers)
                if status == 423 and not first_refusal:
                    first_refusal.append(time.perf_counter())
                    stop.set()
        finally:
            client.close()

    probes = [asyncio.create_task(probe()) for _ in range(PROBES)]
    await asyncio.sleep(0.05)  # the probes are reading
    start = time.perf_counter()
    job = await wired.lifecycle.request(JobKind.SUSPEND, tenant, actor="bench")
    ran = await wired.jobs.run(job.id)
    finished = time.perf_counter()
    assert ran is not None and ran.state is JobState.SUCCEEDED, ran
    await asyncio.wait_for(asyncio.gather(*probes), timeout=10)
    return first_refusal[0] - start, finished - start


async def _until_status(port: int, headers: dict[str, str], status: int) -> None:
    client = Client(port)
    try:
        deadline = time.monotonic() + 30
        while (found := await client.get("/api/v1/state/s1", headers)) != status:
            assert time.monotonic() < deadline, f"the server answers {found}, not {status}"
            await asyncio.sleep(0.02)
    finally:
        client.close()

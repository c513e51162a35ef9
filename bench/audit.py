"""Audit overhead (issue 13): API write throughput with every write audited against audit off.

Two uvicorn processes serve the tenant API on one PostgreSQL control database (tenant data on
the same server, state in Redis): one as deployed, one with ``TENANTRY_AUDIT_WRITES=false`` (the
anchor; control-database changes and access refusals are still recorded there). Rounds of
``SECONDS`` alternate between them, ``ROUNDS`` times, for ``PUT /api/v1/state/{id}`` and
``POST /api/v1/sessions`` (a new session each time), with ``CLIENTS`` closed-loop keep-alive
clients of one tenant, then of ``CLIENTS`` tenants (one each). The figure is the median
throughput with audit as a percentage of the median without (target >= 80 %).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
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
from tenantry.bootstrap import services
from tenantry.core import names
from tenantry.core.settings import Settings
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec

ADMIN_URL: Final = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL: Final = os.environ.get("TENANTRY_BENCH_REDIS", "redis://127.0.0.1:6379/14")
CLIENTS: Final = 8
SECONDS: Final = float(os.environ.get("TENANTRY_BENCH_AUDIT_SECONDS", "1"))
ROUNDS: Final = int(os.environ.get("TENANTRY_BENCH_AUDIT_ROUNDS", "7"))
UNLIMITED: Final = LimitsSpec(rate=1_000_000, burst=1_000_000, max_in_flight=1_000)
_OPEN_DOORS: Final = {
    f"TENANTRY_DOOR_{kind}_{field}": "1000000"
    for kind in ("CREDENTIAL", "ADDRESS", "REFUSAL")
    for field in ("RATE", "BURST")
}
STATE_BODY: Final = json.dumps({"step": 1, "items": list(range(10))}).encode()
# (method, path of the n-th request, body of the n-th request)
Write = tuple[str, Callable[[int], str], Callable[[int], bytes]]
WRITES: Final[dict[str, Write]] = {
    "PUT /api/v1/state/{id}": ("PUT", lambda n: f"/api/v1/state/s{n % 100}", lambda n: STATE_BODY),
    "POST /api/v1/sessions": (
        "POST",
        lambda n: "/api/v1/sessions",
        lambda n: json.dumps({"session_id": f"s-{uuid.uuid4().hex}"}).encode(),
    ),
}


def run() -> list[Result]:
    name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
    tenants = [f"audit-{uuid.uuid4().hex[:6]}-{i}" for i in range(CLIENTS)]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        with tempfile.TemporaryDirectory() as folder:
            return _measure(url, Path(folder), tenants)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            for tenant in tenants:
                role = names.sql_role(tenant, "prod")
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _measure(url: str, folder: Path, tenants: list[str]) -> list[Result]:
    settings = Settings(database_url=url, data_dir=folder, redis_url=REDIS_URL)
    tokens = asyncio.run(_prepare(settings, tenants))
    env = {
        "TENANTRY_DATABASE_URL": url,
        "TENANTRY_DATA_DIR": str(folder),
        "TENANTRY_REDIS_URL": REDIS_URL,
        "TENANTRY_REQUEST_LOG": "false",
        "TENANTRY_LOG_LEVEL": "WARNING",
        **_OPEN_DOORS,
    }
    on, off = free_port(), free_port()
    with (
        serve("bench.http:app", on, env, quiet=True),
        serve("bench.http:app", off, {**env, "TENANTRY_AUDIT_WRITES": "false"}, quiet=True),
    ):
        results = []
        for label, write in WRITES.items():
            for spread, callers in (("1 tenant", [tokens[0]] * CLIENTS), ("8 tenants", tokens)):
                audited, anchor = asyncio.run(_rounds((on, off), write, callers))
                results.append(_result(f"{label}, {CLIENTS} clients of {spread}", audited, anchor))
        return results


def _result(label: str, audited: float, anchor: float) -> Result:
    return Result(
        f"audit on: {label}, throughput as a percentage of audit off (target >= 80 %)"
        f" [{audited:.0f} vs {anchor:.0f} writes/s]",
        100.0 * audited / anchor,
        100.0,
        "audit off, same run",
        unit="%",
    )


async def _prepare(settings: Settings, tenants: list[str]) -> list[dict[str, str]]:
    """The tenants, reconciled; the headers of a tenant admin of each."""
    spec = {
        t: TenantSpec(name=t, environments=[Environment(id="prod")], limits=UNLIMITED)
        for t in tenants
    }
    headers = []
    async with services(settings) as wired:
        await wired.registry.apply(Bundle(tenants=spec))
        outcomes = await wired.controller.reconcile_many(tenants, concurrency=4)
        assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
        for tenant in tenants:
            issued = await wired.access.issue_token("bench", tenant=tenant, role=Role.TENANT_ADMIN)
            headers.append(
                {
                    "Authorization": f"Bearer {issued.token}",
                    "X-Tenant-ID": tenant,
                    "Content-Type": "application/json",
                }
            )
    return headers


async def _rounds(
    ports: tuple[int, int], write: Write, callers: list[dict[str, str]]
) -> tuple[float, float]:
    on, off = ports
    for port in ports:  # warm both (connections, caches, scopes)
        await _throughput(port, write, callers, 0.5)
    audited, anchor = [], []
    for _ in range(ROUNDS):
        audited.append(await _throughput(on, write, callers, SECONDS))
        anchor.append(await _throughput(off, write, callers, SECONDS))
    return statistics.median(audited), statistics.median(anchor)


async def _throughput(
    port: int, write: Write, callers: list[dict[str, str]], seconds: float
) -> float:
    """Writes per second answered 2xx by one closed-loop client per entry of ``callers``."""
    method, path_of, body_of = write
    done, counter = [0], itertools.count()
    deadline = time.perf_counter() + seconds

    async def client(headers: dict[str, str]) -> None:
        pool = Client(port)
        try:
            while time.perf_counter() < deadline:
                n = next(counter)
                status = await pool.send(method, path_of(n), headers, body_of(n))
                assert 200 <= status < 300, f"{method} {path_of(n)} answered {status}"
                done[0] += 1
        finally:
            pool.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(headers) for headers in callers))
    return done[0] / (time.perf_counter() - start)

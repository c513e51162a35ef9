"""What ``Idempotency-Key`` costs a POST, on the embedded SQLite and on PostgreSQL.

Through the API on an ASGI transport (the access dependency stood in by a caller on a scope
opened per request, as access opens it), each operation a ``POST /api/v1/sessions`` creating a
new session:

1. Ours: with a fresh ``Idempotency-Key`` (claim inserted, response sealed and stored).
   Anchor: the same POST without a key (what every keyless POST costs).
2. Ours: the same keyed POST again (a replay: one read, one open, no store call).
   Anchor: the keyless POST again.

Figures are seconds per request, the median of runs in which both sides take turns.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import psycopg
from fastapi import FastAPI, Request
from psycopg import sql

from bench.harness import Result
from tenantry.api import idempotency, problems
from tenantry.api.caller import writer
from tenantry.api.proofs import WriteAccess
from tenantry.api.routes import sessions
from tenantry.bootstrap import Services, services
from tenantry.core import ids, names
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.tenancy.access.schemas import Grant, Principal, PrincipalKind, Role
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REQUESTS = 200
RUNS = 5


def run() -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        results += asyncio.run(_measure(None, Path(folder) / "sqlite", "SQLite"))
        name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
            results += asyncio.run(_measure(url, Path(folder) / "pg", "PostgreSQL", tenant))
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
                role = names.sql_role(tenant, "prod")
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    return results


async def _measure(url: str | None, folder: Path, label: str, tenant: str = "acme") -> list[Result]:
    settings = Settings(database_url=url, data_dir=folder, admin_token=None)
    async with services(settings) as wired:
        spec = TenantSpec(name=tenant, environments=[Environment(id="prod")])
        await wired.registry.apply(Bundle(tenants={tenant: spec}))
        [outcome] = await wired.controller.reconcile_many([tenant], concurrency=1)
        assert outcome.result == "ready", outcome.message
        transport = httpx.ASGITransport(app=_app(wired))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            return await _compare(http, tenant, label)


def _app(wired: Services) -> FastAPI:
    async def caller(request: Request) -> WriteAccess:
        ctx = TenantCtx(
            tenant_id=ids.tenant_id(request.headers["X-Tenant-ID"]), env_id=ids.env_id("prod")
        )
        grant = Grant(ctx.tenant_id, Role.TEAM_MEMBER)
        principal = Principal("bench", PrincipalKind.SERVICE, (grant,), "bench")
        access = WriteAccess(principal, ctx, Role.TEAM_MEMBER, await wired.scopes.open(ctx))
        await idempotency.claim(request, access)
        return access

    app = FastAPI()
    problems.install(app)
    app.include_router(sessions.router)
    app.state.services = wired
    app.dependency_overrides[writer] = caller
    return app


async def _compare(http: httpx.AsyncClient, tenant: str, label: str) -> list[Result]:
    headers = {"X-Tenant-ID": tenant}
    runs = iter(range(1_000_000))

    def posts(keyed: bool, *, replay: bool = False) -> Callable[[], Awaitable[None]]:
        async def work() -> None:
            batch = "r" if replay else str(next(runs))
            for n in range(REQUESTS):
                key = {"Idempotency-Key": f"{batch}-{n}"} if keyed else {}
                body = {"session_id": f"{'k' if keyed else 'p'}{batch}-{n}"}
                response = await http.post("/api/v1/sessions", json=body, headers=headers | key)
                assert response.status_code == 201, response.text

        return work

    await posts(True, replay=True)()  # the records the replays answer from
    fresh = await _interleaved(posts(True), posts(False))
    replays = await _interleaved(posts(True, replay=True), posts(False))
    return [
        Result(f"POST with a fresh Idempotency-Key ({label})", *fresh, "the same POST, no key"),
        Result(f"POST replayed from its key ({label})", *replays, "a new POST, no key"),
    ]


async def _interleaved(
    ours: Callable[[], Awaitable[None]], anchor: Callable[[], Awaitable[None]]
) -> tuple[float, float]:
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(RUNS):
        for work, samples in ((ours, mine), (anchor, theirs)):
            start = time.perf_counter()
            await work()
            samples.append((time.perf_counter() - start) / REQUESTS)
    return statistics.median(mine), statistics.median(theirs)

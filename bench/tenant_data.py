"""A scoped PostgreSQL query vs the same query on a bare pooled connection (issue 4).

Ours: ``TenantData.transaction()`` on the shared tenant-data engine — the transaction begins with
the one ``BEGIN; SET LOCAL ROLE ...; SET LOCAL search_path ...`` round trip, then a primary-key
SELECT on a tenant table. Anchor: the same SELECT (schema-qualified) in a transaction on a plain
SQLAlchemy engine with the same driver (psycopg) and pool size, as the same login role. Both run
one transaction at a time on a one-connection pool; rounds alternate so machine noise hits both.
The target is >= 0.9 of the anchor's throughput.

The login is a plain application role (member of the tenant role), as in production, where the
app role is not a superuser. A superuser login is measured too: switching from a superuser to a
tenant role flips ``is_superuser`` twice per transaction (SET LOCAL ROLE and its end), and the
server reports each flip to the client, which costs a little more.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.harness import Result
from tenantry.backends.postgres.data import PostgresTenantDataSource, tenant_data_engine
from tenantry.backends.postgres.relational import PostgresRelationalProvisioner
from tenantry.runtime.data import TenantData
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.manifests.schemas import Profile
from tenantry.tenancy.schema.runner import Runner
from tenantry.tenancy.schema.targets import target

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TENANT = f"bench{uuid.uuid4().hex[:6]}"
APP = f"tenantry_bench_app_{uuid.uuid4().hex[:6]}"
ROWS = 1_000
BATCH = 300  # transactions per timed batch
ROUNDS = 15
Work = Callable[[], Awaitable[None]]


def run() -> list[Result]:
    name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        return asyncio.run(_measure(url))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            for role in (APP, _role()):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _role() -> str:
    return place(Profile.MT_STANDARD, TENANT, "prod").relational.role


async def _provision(url: str) -> str:
    placement = place(Profile.MT_STANDARD, TENANT, "prod")
    provisioner = PostgresRelationalProvisioner(url)
    resource = provisioner.wanted(placement)
    await provisioner.ensure(resource)
    await provisioner.close()
    runner = Runner()
    with tempfile.TemporaryDirectory() as folder:
        found = target(
            TENANT, "prod", placement.relational, postgres_url=url, data_root=Path(folder)
        )
        await asyncio.to_thread(runner.upgrade, found)
    runner.close()
    return placement.relational.name


async def _fill(data: TenantData) -> None:
    async with data.transaction() as conn:
        await conn.execute(text("CREATE TABLE items (id integer PRIMARY KEY, v text NOT NULL)"))
        await conn.execute(
            text("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, :n) AS g"),
            {"n": ROWS},
        )


async def _measure(url: str) -> list[Result]:
    schema = await _provision(url)
    with psycopg.connect(url, autocommit=True) as admin:
        app = sql.Identifier(APP)
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(app))
        admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(_role()), app))
    app_url = make_url(url).set(username=APP).render_as_string(hide_password=False)
    results: list[Result] = []
    for login, statements in ((app_url, 1), (app_url, 5), (url, 1)):
        ours, anchor = await _pair(login, schema, statements, fill=not results)
        who = "app role" if login == app_url else "superuser login"
        results.append(
            Result(
                f"scoped PostgreSQL transaction, {statements} PK SELECT, {who}",
                ours,
                anchor,
                "same, bare pooled connection",
            )
        )
    return results


async def _pair(url: str, schema: str, statements: int, *, fill: bool) -> tuple[float, float]:
    scoped_engine = tenant_data_engine(url, pool_size=1, max_overflow=0)
    bare_engine = create_async_engine(
        make_url(url).set(drivername="postgresql+psycopg"), pool_size=1, max_overflow=0
    )
    source = PostgresTenantDataSource(scoped_engine)
    data = source.bind(place(Profile.MT_STANDARD, TENANT, "prod"))
    try:
        if fill:
            await _fill(data)
        return await _compare(_scoped(data, statements), _bare(bare_engine, schema, statements))
    finally:
        await source.close()
        await scoped_engine.dispose()
        await bare_engine.dispose()


def _scoped(data: TenantData, statements: int) -> Work:
    query = text("SELECT v FROM items WHERE id = :i")

    async def work() -> None:
        async with data.transaction() as conn:
            for i in range(statements):
                (await conn.execute(query, {"i": 1 + i * 97})).scalar_one()

    return work


def _bare(engine: AsyncEngine, schema: str, statements: int) -> Work:
    qualified = '"' + schema + '".items'  # a builder-made name (grammar-checked, no quote)
    query = text(f"SELECT v FROM {qualified} WHERE id = :i")  # noqa: S608

    async def work() -> None:
        async with engine.connect() as conn, conn.begin():
            for i in range(statements):
                (await conn.execute(query, {"i": 1 + i * 97})).scalar_one()

    return work


async def _compare(ours: Work, anchor: Work) -> tuple[float, float]:
    """Seconds per transaction of each: the best of alternating rounds, as ``timeit`` advises
    (on a shared machine, slower rounds measure the neighbours, not the code)."""
    times: dict[Work, list[float]] = {ours: [], anchor: []}
    for work in (ours, anchor):  # warm up: connections, prepared statements, caches
        for _ in range(BATCH):
            await work()
    for _ in range(ROUNDS):
        for work in (anchor, ours):
            start = time.perf_counter()
            for _ in range(BATCH):
                await work()
            times[work].append((time.perf_counter() - start) / BATCH)
    return min(times[ours]), min(times[anchor])

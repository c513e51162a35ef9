"""Search with stemming vs search as it was before it (issue 10, "Search understands language").

Ours: ``SearchIndex.search("reset password")`` over 2,000 documents in a tenant environment,
once for a tenant without a language (plain) and once for an English one (Porter on SQLite,
``english`` on PostgreSQL). Anchor: the same index object running the search statement of tenant
migration ``t0002`` (plain FTS5 table, or ``websearch_to_tsquery('simple', ...)``) over the
plain tenant's documents: the statement before stemming, with the same Python work around it.
SQLite files and PostgreSQL schemas, one search at a time; rounds alternate so machine noise hits
every contender.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import text

from bench.harness import Result
from tenantry.backends.postgres.data import PostgresTenantDataSource, tenant_data_engine
from tenantry.backends.postgres.relational import PostgresRelationalProvisioner
from tenantry.backends.postgres.search import PostgresSearchIndex
from tenantry.backends.sqlite.data import SqliteTenantDataSource
from tenantry.backends.sqlite.relational import SqliteRelationalProvisioner
from tenantry.backends.sqlite.search import SqliteSearchIndex
from tenantry.runtime.data import TenantData
from tenantry.runtime.search.sql import SqlSearchIndex
from tenantry.tenancy.controller.resources import Provisioner
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.manifests.schemas import Profile
from tenantry.tenancy.schema.runner import Runner
from tenantry.tenancy.schema.targets import target

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DOCUMENTS = 2_000
QUERY = "reset password"
BATCH = 100  # searches per timed batch
ROUNDS = 15
DOMAIN = (
    "reset resetting resets password passwords account accounts billing invoice invoices parcel "
    "parcels ship shipping return returns refund refunded settings security login logins email"
)
WORDS = [*DOMAIN.split(), *(f"filler{n}" for n in range(200))]
_OLD_SQLITE = text(
    "SELECT d.doc_id, d.title, "
    "snippet(tenantry_search_fts, 1, :start, :end, '\u2026', 16), "
    "-bm25(tenantry_search_fts, 2.0, 1.0) AS score, d.fields "
    "FROM tenantry_search_fts JOIN tenantry_search AS d ON d.id = tenantry_search_fts.rowid "
    "WHERE tenantry_search_fts MATCH :q AND d.tenant_id = :t AND d.env_id = :e "
    "ORDER BY score DESC, d.doc_id LIMIT :limit OFFSET :offset"
)
_OLD_POSTGRES = text(
    "SELECT hit.doc_id, hit.title, ts_headline('simple', hit.body, hit.query, :headline), "
    "hit.rank, hit.fields FROM ("
    " SELECT d.doc_id, d.title, d.body, d.fields, q.query, ts_rank(d.document, q.query) AS rank"
    " FROM tenantry_search AS d, websearch_to_tsquery('simple', :q) AS q(query)"
    " WHERE d.tenant_id = :t AND d.env_id = :e AND d.document @@ q.query"
    " ORDER BY rank DESC, d.doc_id LIMIT :limit OFFSET :offset"
    ") AS hit ORDER BY hit.rank DESC, hit.doc_id"
)
Work = Callable[[], Awaitable[object]]


class _SqliteBefore(SqliteSearchIndex):
    find = _OLD_SQLITE


class _PostgresBefore(PostgresSearchIndex):
    find = _OLD_POSTGRES


def run() -> list[Result]:
    results = asyncio.run(_sqlite())
    name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        return results + asyncio.run(_postgres(url))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


async def _sqlite() -> list[Result]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = SqliteTenantDataSource(root)
        try:
            async with _tenants(SqliteRelationalProvisioner(root), root, None) as (plain, en):
                datas = (source.bind(plain), source.bind(en))
                return await _measure("SQLite FTS5", SqliteSearchIndex, _SqliteBefore, datas)
        finally:
            await source.close()


async def _postgres(url: str) -> list[Result]:
    engine = tenant_data_engine(url, pool_size=1, max_overflow=0)
    source = PostgresTenantDataSource(engine)
    provisioner = PostgresRelationalProvisioner(url)
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with _tenants(provisioner, Path(folder), url) as (plain, en):
                datas = (source.bind(plain), source.bind(en))
                return await _measure("PostgreSQL", PostgresSearchIndex, _PostgresBefore, datas)
    finally:
        await source.close()
        await engine.dispose()
        await provisioner.close()


@asynccontextmanager
async def _tenants(provisioner: Any, root: Path, url: str | None) -> AsyncIterator[list[Any]]:
    """Two provisioned, migrated tenant environments; retired on the way out."""
    made = [place(Profile.MT_STANDARD, f"bench{uuid.uuid4().hex[:6]}", "prod") for _ in "ab"]
    runner = Runner()
    try:
        for placement in made:
            await provisioner.ensure(provisioner.wanted(placement))
            found = target(
                placement.tenant_id, "prod", placement.relational, postgres_url=url, data_root=root
            )
            await asyncio.to_thread(runner.upgrade, found)
        yield made
    finally:
        runner.close()
        await _retire(provisioner, made)


async def _retire(provisioner: Provisioner, made: list[Any]) -> None:
    for placement in made:
        await provisioner.retire(provisioner.wanted(placement))  # type: ignore[arg-type]


async def _measure(
    backend: str,
    index: type[SqlSearchIndex],
    before: type[SqlSearchIndex],
    datas: tuple[TenantData, TenantData],
) -> list[Result]:
    plain, english = index(datas[0]), index(datas[1], language="en")
    await _fill(plain)
    await _fill(english)
    anchor = before(datas[0])
    work = {
        name: _searching(i) for name, i in (("plain", plain), ("en", english), ("t0002", anchor))
    }
    times = await _rounds(work)
    return [
        Result(
            f"search, {backend}, {DOCUMENTS} documents, {label}",
            times[name],
            times["t0002"],
            "t0002 statement (no stemming), same index",
        )
        for name, label in (("plain", "no language"), ("en", "English, stemmed"))
    ]


async def _fill(index: SqlSearchIndex) -> None:
    chosen = random.Random(7)  # the same documents in both tenant environments
    for n in range(DOCUMENTS):
        title = " ".join(chosen.choices(WORDS, k=4))
        body = " ".join(chosen.choices(WORDS, k=40))
        await index.index(f"doc-{n:05}", title=title, body=body)


def _searching(index: SqlSearchIndex) -> Work:
    async def work() -> object:
        return await index.search(QUERY)

    return work


async def _rounds(work: dict[str, Work]) -> dict[str, float]:
    """Seconds per search of each: the best of alternating rounds (``timeit``'s advice)."""
    times: dict[str, list[float]] = {name: [] for name in work}
    for search in work.values():  # warm up: caches, prepared statements, the settle check
        for _ in range(BATCH // 4):
            await search()
    for _ in range(ROUNDS):
        for name, search in work.items():
            start = time.perf_counter()
            for _ in range(BATCH):
                await search()
            times[name].append((time.perf_counter() - start) / BATCH)
    return {name: min(samples) for name, samples in times.items()}

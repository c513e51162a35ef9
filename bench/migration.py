"""Moving a tenant from mt-standard to st-dedicated on PostgreSQL + S3 (moto) (issue 11).

For each size (10,000, 100,000 and 1,000,000 relational rows, 1,000 objects), a tenant is made
on mt-standard with its rows in one table (``id``, ``body`` of ~100 bytes) and its objects
(1 KiB each), its profile is changed by applying the changed bundle, and the migrate job runs
while one client writes through the API without a pause (an object, then a search document,
again and again, in the same process over ASGI). Reported:

- the job's total time;
- the write freeze as the client saw it: the longest write (request to response) that
  overlapped the cutover step, and the cutover step's own duration for comparison;
- the relational copy's throughput: our ``PostgresRelationalMover.copy`` of the tenant's
  schema into its (already made) database, timed again after the move, against
  ``pg_dump -Fc -n schema | pg_restore -d new_database`` of the same schema (the anchor), in
  the same run; the target is >= 0.5 of the anchor's throughput.

A size that takes longer than ``BOUND`` seconds to set up or move is reported as far as it got.

It runs on a PostgreSQL cluster of its own (``initdb`` in a temporary directory, started on a
free port as the ``postgres`` user, stopped at the end), so that other test sessions on the
machine's server, which drop every tenant database they find, cannot disturb it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from moto.server import ThreadedMotoServer
from psycopg import sql
from pydantic import SecretStr
from sqlalchemy import text

from bench.harness import Result
from tenantry.api.app import create_app
from tenantry.backends.postgres.moves import PostgresRelationalMover
from tenantry.bootstrap import Services, services
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.lifecycle.jobs import Job, JobState
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Profile, Team, TenantSpec

BIN = Path("/usr/lib/postgresql/15/bin")
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"  # replaced by the private cluster's
SIZES = (10_000, 100_000, 1_000_000)
OBJECTS = 1_000
BOUND = 600.0  # seconds per size, at most


@dataclass
class Writes:
    """What the client saw: (start, end, acknowledged) per write."""

    samples: list[tuple[float, float, bool]] = field(default_factory=list)

    def longest(self, start: float, end: float) -> float:
        overlapping = [e - s for s, e, _ in self.samples if s <= end and e >= start]
        return max(overlapping, default=0.0)


def run() -> list[Result]:
    with _cluster() as admin_url:
        global ADMIN_URL  # noqa: PLW0603 - every helper here talks to the private cluster
        ADMIN_URL = admin_url
        return _run()


@contextlib.contextmanager
def _cluster() -> Iterator[str]:
    """A private PostgreSQL cluster for the run; its admin URL."""
    with tempfile.TemporaryDirectory() as home:
        data = Path(home) / "pg"
        data.mkdir()
        shutil.chown(home, "postgres")
        shutil.chown(data, "postgres")
        port = _free_port()
        as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*as_postgres, str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200"
        ctl = [*as_postgres, str(BIN / "pg_ctl"), "-D", str(data)]
        subprocess.run(
            [*ctl, "-o", options, "-w", "-l", str(data / "log"), "start"],
            check=True,
            capture_output=True,
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*ctl, "-m", "fast", "-w", "stop"], check=False, capture_output=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run() -> list[Result]:
    name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    moto = _moto()
    try:
        with tempfile.TemporaryDirectory() as data:
            return asyncio.run(_measure(url, moto[1], Path(data)))
    finally:
        moto[0].stop()
        _drop(name)


def _moto() -> tuple[ThreadedMotoServer, str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def _drop(database: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        for (found,) in admin.execute(
            r"SELECT datname FROM pg_database WHERE datname LIKE 'tenant\_mig%'"
            r" OR datname LIKE 'tenantry\_restore\_%'"
        ).fetchall():
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(found))
            )
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
        for (role,) in admin.execute(
            r"SELECT rolname FROM pg_roles WHERE rolname LIKE 'tr\_mig%'"
        ).fetchall():
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


async def _measure(url: str, s3: str, data: Path) -> list[Result]:
    settings = Settings(
        data_dir=data,
        database_url=url,
        objects="s3",
        s3_endpoint_url=s3,
        s3_access_key="test",
        s3_secret_key=SecretStr("test"),
        request_log=False,
        door_credential_rate=100_000,
        door_credential_burst=100_000,
    )
    results: list[Result] = []
    async with services(settings) as wired:
        for rows in SIZES:
            try:
                results += await asyncio.wait_for(_one(wired, url, rows), BOUND)
            except TimeoutError:
                print(f"| {rows:,} rows: over the {BOUND:.0f} s bound, not reported | | | | | |")
    return results


async def _one(wired: Services, url: str, rows: int) -> list[Result]:
    tenant = f"mig{uuid.uuid4().hex[:6]}"
    await _make(wired, tenant, rows)
    writes = Writes()
    job, total = await _move(wired, tenant, writes)
    cutover = job.step("cutover")
    assert cutover.started_at is not None and cutover.ended_at is not None
    start, end = cutover.started_at.timestamp(), cutover.ended_at.timestamp()
    frozen = writes.longest(start, end)
    acknowledged = sum(1 for *_, ok in writes.samples if ok)  # requests
    size = f"{rows:,} rows, {OBJECTS:,} objects"
    found = [
        Result(f"migrate {size}: total", total, total, "(no anchor)"),
        Result(
            f"migrate {size}: write freeze seen by the client"
            f" ({acknowledged} writes acknowledged, all present)",
            frozen,
            end - start,
            "cutover step",
        ),
    ]
    server = job.params.get("outputs", {}).get("freeze", {})
    found.append(
        Result(
            f"migrate {size}: write freeze in the job (drain"
            f" {server.get('drain_ms', 0):.0f} ms + catch-up and flip)",
            server.get("frozen_ms", 0.0) / 1000,
            end - start,
            "cutover step",
        )
    )
    ours, anchor = await _copies(wired, url, tenant)
    found.append(Result(f"relational copy of {rows:,} rows", ours, anchor, "pg_dump | pg_restore"))
    return found


async def _make(wired: Services, tenant: str, rows: int) -> None:
    await wired.registry.apply(_bundle(tenant, Profile.MT_STANDARD))
    await wired.controller.reconcile(tenant)
    scope = await wired.scopes.open(TenantCtx(tenant_id=tenant, env_id="prod"))
    async with scope.data.transaction() as conn:
        await conn.execute(text("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)"))
        await conn.execute(
            text(
                "INSERT INTO notes SELECT g, 'note ' || g || ' ' || repeat('x', 90)"
                " FROM generate_series(1, :n) AS g"
            ),
            {"n": rows},
        )
    payload = b"o" * 1024
    gate = asyncio.Semaphore(16)

    async def put(i: int) -> None:
        async with gate:
            await scope.objects.put(f"bulk/{i:05d}.bin", payload)

    await asyncio.gather(*(put(i) for i in range(OBJECTS)))


def _bundle(tenant: str, profile: Profile) -> Bundle:
    spec = TenantSpec(
        name="Bench",
        profile=profile,
        environments=[Environment(id="prod")],
        teams={"support": Team(name="Support")},
    )
    return Bundle(tenants={tenant: spec})


async def _move(wired: Services, tenant: str, writes: Writes) -> tuple[Job, float]:
    issued = await wired.access.issue_token(
        "bench", tenant=tenant, team="support", role=Role.TEAM_MEMBER
    )
    headers = {
        "Authorization": f"Bearer {issued.token}",
        "X-Tenant-ID": tenant,
        "X-Team-ID": "support",
    }
    app = create_app(services=wired)
    done = asyncio.Event()
    acknowledged: list[int] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=headers
    ) as api:

        async def client() -> None:
            n = 0
            while not done.is_set():
                began = time.time()
                put = await api.put(
                    f"/api/v1/objects/live/{n}",
                    content=f"write {n}".encode(),
                    headers={"Content-Type": "text/plain"},
                )
                middle = time.time()
                doc = await api.post(
                    "/api/v1/search/documents",
                    json={"doc_id": f"w{n}", "title": "live", "body": f"write {n}"},
                )
                ok = put.status_code == 200 and doc.status_code == 201
                writes.samples.append((began, middle, put.status_code == 200))
                writes.samples.append((middle, time.time(), doc.status_code == 201))
                if ok:
                    acknowledged.append(n)
                n += 1

        writing = asyncio.create_task(client())
        await asyncio.sleep(0.5)
        await wired.registry.apply(_bundle(tenant, Profile.ST_DEDICATED))
        started = time.perf_counter()
        await wired.controller.reconcile(tenant)  # requests the job
        (job,) = await wired.lifecycle.list(tenant_id=tenant)
        finished = await wired.jobs.run(job.id)
        total = time.perf_counter() - started
        await asyncio.sleep(0.3)
        done.set()
        await writing
        if finished is None or finished.state is not JobState.SUCCEEDED:
            raise RuntimeError(f"the migration did not succeed: {finished}")
        for n in acknowledged:  # every acknowledged write is there after the move
            found = await api.get(f"/api/v1/objects/live/{n}")
            if found.status_code != 200 or found.content != f"write {n}".encode():
                raise RuntimeError(f"acknowledged write {n} is missing after the move")
    return finished, total


async def _copies(wired: Services, url: str, tenant: str) -> tuple[float, float]:
    """Our relational copy (schema -> database, again) and pg_dump | pg_restore of the same
    schema into a new database, one after the other."""
    layout = wired.controller.layout
    source = place(Profile.MT_STANDARD, tenant, "prod", layout)
    target: Placement = place(Profile.ST_DEDICATED, tenant, "prod", layout)
    mover = PostgresRelationalMover(url)
    try:
        began = time.perf_counter()
        await mover.copy(source, target)
        ours = time.perf_counter() - began
    finally:
        await mover.close()
    return ours, await asyncio.to_thread(_dump_and_restore, url, source.relational.name)


def _dump_and_restore(url: str, schema: str) -> float:
    """``pg_dump -Fc -n schema | pg_restore`` into a new database: its wall time."""
    restored = f"tenantry_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(restored)))
    try:
        began = time.perf_counter()
        dump = subprocess.Popen(["pg_dump", "-Fc", "-n", schema, url], stdout=subprocess.PIPE)
        subprocess.run(
            ["pg_restore", "--no-owner", "-d", ADMIN_URL.rsplit("/", 1)[0] + "/" + restored],
            stdin=dump.stdout,
            check=True,
        )
        dump.wait()
        return time.perf_counter() - began
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(restored))
            )

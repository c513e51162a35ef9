"""Audit verification speed (issue 13): records per second, from the database and from an
export, on SQLite and on PostgreSQL.

``RECORDS`` records (default 200,000, in 4 chains: 3 tenants and the platform) are appended
with ``log.append`` and linked by the sequencer (also timed), then ``verify`` recomputes every
hash from the database (in ranges, one worker process per core), and the export is written to a
file and verified offline as ``audit verify --file`` does. The anchor is the floor
any verifier pays: SHA-256 over the same canonical bodies already in memory (hashlib alone).
Target: >= 100,000 records/s.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import psycopg
from psycopg import sql

from bench.harness import Result
from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.audit import log
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome
from tenantry.tenancy.audit.service import AuditService
from tenantry.tenancy.registry.database import session_factory

ADMIN_URL: Final = "postgresql://postgres@127.0.0.1:5432/postgres"
RECORDS: Final = int(os.environ.get("TENANTRY_BENCH_AUDIT_RECORDS", "200000"))
_CHAINS: Final = ("acme", "globex", "initech", None)
_SEED_BATCH: Final = 10_000


def run() -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        results += asyncio.run(_measure(None, Path(folder) / "sqlite", "SQLite"))
        name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
            results += asyncio.run(_measure(url, Path(folder) / "pg", "PostgreSQL"))
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    return results


async def _measure(url: str | None, folder: Path, label: str) -> list[Result]:
    settings = Settings(database_url=url, data_dir=folder, admin_token=None)
    async with services(settings) as wired:
        audit = wired.audit.service
        assert audit is not None
        await _seed(wired)
        started = time.perf_counter()
        linked = await audit.sequencer.run(full=True)
        sequencing = time.perf_counter() - started
        assert linked == RECORDS
        anchor = await _anchor(audit)
        from_db = await _timed_verify(audit, label)
        export = folder / "audit.jsonl"
        with export.open("w", encoding="utf-8") as out:
            await audit.export(out)
        started, cpu = time.perf_counter(), _cpu_seconds()
        verdict = audit.verify_file(export)  # what ``audit verify --file`` runs
        from_file = time.perf_counter() - started
        _cpu(label, "verify from an export", _cpu_seconds() - cpu)
        assert verdict.intact and verdict.verified == RECORDS
    _report(label, sequencing, from_db, from_file, anchor)
    anchor_name = "sha256 of the link lines"
    return [
        Result(f"audit verify, {RECORDS:,} records from {label}", from_db, anchor, anchor_name),
        Result(
            f"audit verify, {RECORDS:,} records, {label} export", from_file, anchor, anchor_name
        ),
        Result(f"audit sequencer, {RECORDS:,} records ({label})", sequencing, anchor, anchor_name),
    ]


async def _seed(wired: Services) -> None:
    sessions = session_factory(wired.engine)
    assert wired.audit.keys is not None
    log.carry(sessions, wired.audit.keys)
    now = datetime(2026, 12, 6, tzinfo=UTC)
    for start in range(0, RECORDS, _SEED_BATCH):
        entries = [
            AuditEntry(
                f"user-{n % 97}",
                "PUT /api/v1/state/{id}",
                _CHAINS[n % len(_CHAINS)],
                Outcome.SUCCEEDED,
                correlation_id=uuid.uuid4().hex,
                details={"key": f"s-{n}", "size": n % 4096},
                env_id="prod",
                target=f"state/s-{n}",
                request_hmac=hashlib.sha256(str(n).encode()).hexdigest(),
            )
            for n in range(start, min(start + _SEED_BATCH, RECORDS))
        ]
        async with sessions() as session, session.begin():
            await log.append(session, entries, now=now)


async def _anchor(audit: AuditService) -> float:
    """SHA-256 over every link's line of the export (its canonical body and a little more),
    already encoded, in memory."""
    out = io.StringIO()
    await audit.export(out)
    bodies = [line.encode() for line in out.getvalue().splitlines() if '"type": "link"' in line]
    assert len(bodies) == RECORDS
    started = time.perf_counter()
    for body in bodies:
        hashlib.sha256(body).hexdigest()
    return time.perf_counter() - started


async def _timed_verify(audit: AuditService, label: str) -> float:
    started, cpu = time.perf_counter(), _cpu_seconds()
    verdict = await audit.verify()
    elapsed = time.perf_counter() - started
    _cpu(label, "verify from the database", _cpu_seconds() - cpu)
    assert verdict.intact and verdict.verified == RECORDS, verdict.breaches
    return elapsed


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the verifying workers)."""
    own, workers = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _cpu(label: str, what: str, seconds: float) -> None:
    """Records per second of CPU time of this process and its workers: the machine's other load
    left out (the database server's own work too, on PostgreSQL)."""
    print(f"<!-- {label}: {what}: {RECORDS / seconds:,.0f} records per CPU second -->", flush=True)


def _report(label: str, sequencing: float, from_db: float, from_file: float, anchor: float) -> None:
    rate = {
        "sequencer": RECORDS / sequencing,
        "verify from the database": RECORDS / from_db,
        "verify from an export": RECORDS / from_file,
        "anchor (sha256 only)": RECORDS / anchor,
    }
    for what, value in rate.items():
        print(f"<!-- {label}: {what}: {value:,.0f} records/s -->", flush=True)

"""Archive and restore throughput on the embedded default vs ``tar`` of the same files (issue 11).

One mt-standard tenant with one environment holding :data:`OBJECTS` objects of 1 MiB (random,
so incompressible) and :data:`SESSIONS` sessions. Ours: the archive job (export every kind,
seal, write the manifest, read every file back to verify, remove the hot resources), then the
restore job (verify every file, provision, import every kind, count). Anchor, in the same run
and on the same disk: ``tar -cf`` of the tenant's object and session files, and ``tar -xf`` of
that tarball into an empty directory. Throughput is the size of those files (sealed, as stored)
over the time. Rounds alternate archive and restore; the figure is the median round.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.harness import Result
from tenantry.bootstrap import Services, services
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Profile, TenantSpec

TENANT = "bench-archive"
OBJECTS = 200  # of 1 MiB each
SESSIONS = 2_000
ROUNDS = 3
MIB = 1024 * 1024


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="tenantry-bench-archive-") as scratch:
        return asyncio.run(_measure(Path(scratch)))


async def _measure(root: Path) -> list[Result]:
    settings = Settings(data_dir=root / "data", database_url=f"sqlite:///{root / 'c.db'}")
    async with services(settings) as wired:
        await _tenant(wired)
        files = _tenant_files(settings.data_dir)
        size = sum(p.stat().st_size for d in files for p in d.rglob("*") if p.is_file()) / MIB
        archived, restored, packed, unpacked = [], [], [], []
        for _ in range(ROUNDS):
            packed.append(_timed_tar(["-cf", str(root / "t.tar"), *_relative(files, root)], root))
            unpacked.append(_untar(root))
            archived.append(await _job(wired, JobKind.ARCHIVE))
            restored.append(await _job(wired, JobKind.RESTORE))
    return [
        _result("archive", size, statistics.median(archived), statistics.median(packed), "tar -cf"),
        _result(
            "restore", size, statistics.median(restored), statistics.median(unpacked), "tar -xf"
        ),
    ]


def _result(what: str, size: float, ours: float, anchor: float, anchor_name: str) -> Result:
    name = (
        f"{what}: {OBJECTS} x 1 MiB objects + {SESSIONS} sessions, {size:.0f} MiB "
        f"({size / ours:.0f} MiB/s; {anchor_name} {size / anchor:.0f} MiB/s)"
    )
    return Result(name, ours, anchor, f"{anchor_name} of the same files")


async def _tenant(wired: Services) -> None:
    spec = TenantSpec(
        name="Bench", profile=Profile.MT_STANDARD, environments=[Environment(id="prod")]
    )
    await wired.registry.apply(Bundle(tenants={TENANT: spec}))
    await wired.controller.reconcile(TENANT)
    scope = await wired.scopes.open(TenantCtx(tenant_id=TENANT, env_id="prod"))  # type: ignore[arg-type]
    for n in range(OBJECTS):
        await scope.objects.put(f"blobs/{n:04d}", os.urandom(MIB), content_type="image/png")
    for n in range(SESSIONS):
        variables = {"n": n, "text": "a conversation turn " * 20}
        await scope.sessions.create(None, f"s{n:05d}", user=f"u{n}", variables=variables)


def _tenant_files(data: Path) -> list[Path]:
    return [
        data / "objects" / "shared" / "tenants" / TENANT,
        data / "runtime" / "sessions" / TENANT,
    ]


def _relative(paths: list[Path], root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in paths]


def _timed_tar(arguments: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["tar", *arguments], cwd=cwd, check=True)
    return time.perf_counter() - start


def _untar(root: Path) -> float:
    target = root / "untarred"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    return _timed_tar(["-xf", str(root / "t.tar"), "-C", str(target)], root)


async def _job(wired: Services, kind: JobKind) -> float:
    start = time.perf_counter()
    job = await wired.lifecycle.request(kind, TENANT, actor="bench")
    done = await wired.jobs.run(job.id)
    elapsed = time.perf_counter() - start
    if done is None or done.state is not JobState.SUCCEEDED:
        raise RuntimeError(f"{kind} did not succeed: {done and done.error}")
    return elapsed

"""SIGKILL an archive job and a restore job inside each of their steps in turn, on the embedded
default: each resumes where it stopped and every resource reads back equal."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tests.conftest import REPO
from tests.e2e.job_stepper import LEASE
from tests.integration.lifecycle.test_archive import _snapshot, _tenant, _write

STEPS = 10  # of each kind: archive prepare..remove, restore locate..check


@pytest.fixture
def embedded(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'c.db'}")


async def test_archive_and_restore_killed_in_each_step_in_turn_resume(embedded: Settings) -> None:
    """One job of each kind, killed right after each of its steps in turn (before the step is
    recorded, so the next run does it again), then resumed."""
    async with services(embedded) as wired:
        tenant = await _tenant(wired)
        await _write(wired, tenant)
        before = await _snapshot(wired, tenant)
        archive = await wired.lifecycle.request(JobKind.ARCHIVE, tenant, actor="test")
    _killed_in_each_step(embedded, archive.id)
    async with services(embedded) as wired:
        await _resume(wired, archive.id)
        assert (await wired.registry.get(tenant)).lifecycle_state is LifecycleState.ARCHIVED
        restore = await wired.lifecycle.request(JobKind.RESTORE, tenant, actor="test")
    _killed_in_each_step(embedded, restore.id)
    async with services(embedded) as wired:
        await _resume(wired, restore.id)
        assert (await wired.registry.get(tenant)).lifecycle_state is LifecycleState.ACTIVE
        assert await _snapshot(wired, tenant) == before


def _killed_in_each_step(settings: Settings, job_id: str) -> None:
    for step in range(1, STEPS + 1):
        time.sleep(LEASE * 1.5)  # the dead process's claim expires
        _run_until_killed(settings, job_id, step)


async def _resume(wired: Services, job_id: str) -> None:
    await asyncio.sleep(LEASE * 1.5)  # the dead process's claim expires
    done = await wired.jobs.run(job_id)
    assert done is not None and done.state is JobState.SUCCEEDED, done and done.error


def _run_until_killed(settings: Settings, job_id: str, steps: int) -> None:
    data = str(settings.data_dir)
    command = [sys.executable, "-m", "tests.e2e.job_stepper", str(settings.database_url), data]
    environment = {**os.environ, "TENANTRY_LOG_LEVEL": "WARNING"}
    with subprocess.Popen(
        [*command, job_id, str(steps)], cwd=REPO, stdout=subprocess.PIPE, text=True, env=environment
    ) as process:
        assert process.stdout is not None
        try:
            line = process.stdout.readline().strip()
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert line.startswith("STEPPED"), f"expected the job to run step {steps}, got {line!r}"

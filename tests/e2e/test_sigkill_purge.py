"""SIGKILL a purging process right after its riskiest steps' work (the record still
``running``) on PostgreSQL + S3 + NATS + Redis: a worker that takes the job over resumes at that
step and converges, everything of the tenant removed, its keys last, its tombstone kept, the
other tenant untouched. Every step on the embedded default: ``test_job_sigkill.py``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from tenantry.backends.keys.keyring import Keyring
from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.lifecycle.jobs import Job, JobState, StepState
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tests.conftest import NATS_URL, REPO, empty
from tests.integration.controller.test_data_safety import REDIS_URL
from tests.integration.lifecycle.test_delete import (
    ENVS,
    _existing,
    _leftover_runtime,
    _pair,
    _read,
    _resources,
    _secret_rows,
)

LEASE = 1.0  # the stepper's claim: a killed worker's job is taken over soon after
STEPS = [
    "inventory",
    "sessions",
    "state",
    "search",
    "objects",
    "relational",
    "object-spaces",
    "streams",
    "records",
    "archives",
    "keys",
    "tombstone",
]
RISKIEST = ["objects", "relational", "keys"]  # data half gone; a space half gone; the shred


@pytest.mark.postgres
@pytest.mark.parametrize("step", RISKIEST)
async def test_a_purge_killed_after_its_riskiest_steps_converges_on_the_real_services(
    tmp_path: Path, postgres_url: str, s3_endpoint: str, step: str
) -> None:
    real = {
        "objects": "s3",
        "s3_endpoint_url": s3_endpoint,
        "s3_access_key": "test",
        "s3_secret_key": "test",
        "nats_url": NATS_URL,
        "redis_url": REDIS_URL,
    }
    settings = Settings(
        database_url=empty(postgres_url),
        data_dir=tmp_path / "data",
        job_lease_seconds=LEASE,
        **{**real, "s3_secret_key": SecretStr("test")},
    )
    await _converges(settings, step, {f"TENANTRY_{k.upper()}": v for k, v in real.items()})


async def _converges(settings: Settings, step: str, environment: dict[str, str]) -> None:
    async with services(settings) as wired:
        pair = await _pair(wired)
        owned = await _resources(wired, pair.victim)
        stored = (await wired.registry.get(pair.victim)).placement or {}
        job = await wired.lifecycle.request(
            JobKind.DELETE, pair.victim, actor="test", options={"now": True}
        )
    _run_until_killed(settings, job.id, step, environment)
    async with services(settings) as wired:
        done = await _taken_over(wired, job.id)
        assert done.state is JobState.SUCCEEDED, done.error
        assert done.step(step).attempts == 2  # resumed at the step it was killed in
        assert all(s.attempts == 1 for s in done.steps if s.name != step)
        assert all(s.state is StepState.DONE for s in done.steps)
        assert (await wired.registry.get(pair.victim)).lifecycle_state is LifecycleState.DELETED
        assert await _existing(wired, owned) == []
        assert await _resources(wired, pair.victim) == []
        assert not Keyring(settings.data_dir.resolve()).exists(pair.victim)
        assert await _secret_rows(wired, pair.victim) == 0
        placed = {env: Placement.from_dict(p) for env, p in stored.items()}
        assert await _leftover_runtime(wired, pair.victim, placed) == 0
        for env in ENVS:
            await _read(wired, pair.bystander, env)


async def _taken_over(wired: Services, job_id: str) -> Job:
    """Run the job once the killed worker's claim has expired."""
    for _ in range(100):
        ended = await wired.jobs.run(job_id)
        if ended is not None:
            return ended
        await asyncio.sleep(LEASE / 5)
    raise AssertionError(f"job {job_id} was never taken over")


def _run_until_killed(
    settings: Settings, job_id: str, step: str, environment: dict[str, str]
) -> None:
    url, data = str(settings.database_url), str(settings.data_dir)
    after = str(STEPS.index(step) + 1)
    command = [sys.executable, "-m", "tests.e2e.job_stepper", url, data, job_id, after]
    env = {**os.environ, "TENANTRY_LOG_LEVEL": "WARNING", **environment}
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        try:
            line = process.stdout.readline().strip()
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert line == f"STEPPED {step}", f"expected the worker to act, got {line!r}"
    assert process.returncode == -signal.SIGKILL

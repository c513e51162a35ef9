"""SIGKILL a process running a suspend job inside each step in turn: another process resumes
the job once the claim expires, the dead process's fresh heartbeat is waited for only until it
goes stale, and the tenant ends suspended."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.jobs import Job, JobState, StepState
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Bundle
from tests.conftest import EXAMPLE_BUNDLE, REPO

QUICK = {"job_lease_seconds": 1.0, "fence_stale_seconds": 1.5, "fence_heartbeat_seconds": 0.2}


@pytest.mark.parametrize("step", [1, 2])
async def test_killed_inside_each_step_resumes_and_suspends(settings: Settings, step: int) -> None:
    quick = settings.model_copy(update=QUICK)
    acme = loader.load([EXAMPLE_BUNDLE]).tenants["acme"]
    async with services(quick) as wired:
        await wired.registry.apply(Bundle(tenants={"acme": acme}))
        await wired.controller.reconcile("acme")
        job = await wired.lifecycle.request(JobKind.SUSPEND, "acme", actor="test")
    _run_until_killed(quick, job.id, step)
    async with services(quick) as wired:
        killed = await wired.lifecycle.get(job.id)
        assert killed.state is JobState.RUNNING and killed.claimed_by is not None
        done = await wired.jobs.run(job.id) or await _after_the_claim(wired, job.id)
        assert done.state is JobState.SUCCEEDED, done.error
        assert [s.state for s in done.steps] == [StepState.DONE, StepState.DONE]
        assert done.step(["fence", "drain"][step - 1]).attempts == 2  # run again after the kill
        assert (await wired.registry.get("acme")).lifecycle_state is LifecycleState.SUSPENDED


async def _after_the_claim(wired: Services, job_id: str) -> Job:
    """Run the job once the killed worker's claim (``job_lease_seconds``) has expired."""
    for _ in range(100):
        await asyncio.sleep(0.1)
        done = await wired.jobs.run(job_id)
        if done is not None:
            return done
    raise AssertionError("the killed worker's claim never expired")


def _run_until_killed(settings: Settings, job_id: str, step: int) -> None:
    command = [sys.executable, "-m", "tests.e2e.suspend_stepper"]
    command += [str(settings.database_url), str(settings.data_dir), job_id, str(step)]
    environment = {
        **os.environ,
        "TENANTRY_LOG_LEVEL": "WARNING",
        "TENANTRY_JOB_LEASE_SECONDS": "1",
        "TENANTRY_FENCE_STALE_SECONDS": "1.5",
        "TENANTRY_FENCE_HEARTBEAT_SECONDS": "0.2",
    }
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=environment
    ) as process:
        assert process.stdout is not None
        try:
            line = process.stdout.readline().strip()
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert line == "ACTED", f"expected the job to reach its step, got {line!r}"
    assert process.returncode == -signal.SIGKILL

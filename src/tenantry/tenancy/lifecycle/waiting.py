"""Waiting for a job to end, and running it here when no worker takes it.

``--wait`` and ``tenantry jobs watch`` follow a job by reading it again and again; a wait that
may run the job claims it itself once no worker has done so for ``claim_after`` seconds, so
every command works without a running worker. A job scheduled for later (a delete under
retention) ends the wait at once: it is as done as it can be now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import Conflict, TenantryError, Unavailable
from tenantry.tenancy.lifecycle.jobs import Job, JobState, StepState
from tenantry.tenancy.lifecycle.runner import JobRunner
from tenantry.tenancy.lifecycle.service import LifecycleService

CLAIM_AFTER = 1.5  # seconds a worker has to claim a due job before the waiter runs it itself
POLL = 0.2  # seconds between two reads of the job


class JobFailed(Unavailable):
    """A job waited for failed at a step (``tenantry jobs retry`` resumes it)."""

    code = "job.failed"


class JobCancelled(Conflict):
    """A job waited for was cancelled (by ``tenantry jobs cancel``, or preempted)."""

    code = "job.cancelled"


def settled(job: Job, now: datetime) -> bool:
    """Whether a wait for ``job`` is over: it ended, or it waits for a time still to come."""
    if not job.state.active:
        return True
    return job.state is JobState.SCHEDULED and job.not_before is not None and job.not_before > now


def outcome(job: Job) -> TenantryError | None:
    """The error a waiter reports for a job that ended without success (None otherwise)."""
    if job.state is JobState.FAILED:
        step = next((s.name for s in job.steps if s.state is StepState.FAILED), None)
        where = f" at step {step}" if step else ""
        return JobFailed(
            f"job {job.id} ({job.kind} of {job.tenant_id}) failed{where}: {job.error};"
            f" the tenant stays {job.previous_state} unless the step was past its point of no"
            f" return; resume it with `tenantry jobs retry {job.id}`",
            details={"job_id": job.id, "step": step, "error": job.error},
        )
    if job.state is JobState.CANCELLED:
        return JobCancelled(
            f"job {job.id} ({job.kind} of {job.tenant_id}) was cancelled",
            details={"job_id": job.id},
        )
    return None


async def wait(
    lifecycle: LifecycleService,
    runner: JobRunner | None,
    job_id: str,
    *,
    seen: Callable[[Job], None] = lambda job: None,
    claim_after: float = CLAIM_AFTER,
    poll: float = POLL,
    clock: Clock = utc_now,
) -> Job:
    """Follow the job until :func:`settled`, calling ``seen`` with each read of it.

    With a ``runner``, a due job that no worker claimed within ``claim_after`` seconds is run
    here (and tried again each second while another worker's claim holds it).
    """
    loop = asyncio.get_running_loop()
    job = await lifecycle.get(job_id)
    seen(job)
    next_try = loop.time() + claim_after
    running: asyncio.Task[Job | None] | None = None
    try:
        while not settled(job, clock()):
            if runner is not None and running is None and loop.time() >= next_try:
                running = asyncio.create_task(runner.run(job_id))
                next_try = loop.time() + 1.0
            await asyncio.sleep(poll)
            if running is not None and running.done():
                running.result()  # a run that raised ends the wait with its error
                running = None  # it ran to an end, or another worker holds the claim
            job = await lifecycle.get(job_id)
            seen(job)
        if running is not None:  # the job ended: let its run write its last words
            await running
    except BaseException:
        if running is not None and not running.done():
            running.cancel()  # its claim lapses, and a worker resumes the job
            await asyncio.gather(running, return_exceptions=True)
        raise
    return job

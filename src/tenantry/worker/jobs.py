"""The worker's job loop: claim due lifecycle jobs and run them, a bounded number at once.

It looks for due jobs every ``job_poll_seconds`` (0.5 s), and at once when this process
requested one, so a job starts within a second of its request whichever process made it. Each
job runs in a task of its own: a long job blocks neither the reconcile loop nor other tenants'
jobs. Two workers may race for a job; the claim lets exactly one run it.
"""

from __future__ import annotations

import asyncio
import contextlib

from tenantry.bootstrap import Services
from tenantry.core.errors import TenantryError
from tenantry.core.logging import get_logger

log = get_logger(__name__)


async def run_jobs(services: Services, *, stop: asyncio.Event) -> None:
    """Run due jobs until ``stop`` is set, then wait for the running ones to finish a step."""
    settings = services.settings
    running: dict[str, asyncio.Task[None]] = {}
    while not stop.is_set():
        free = settings.job_concurrency - len(running)
        if free > 0:
            for job_id in await _due(services, free + len(running)):
                if job_id not in running and len(running) < settings.job_concurrency:
                    running[job_id] = _started(services, job_id, running)
        services.job_requested.clear()
        await _sleep(services, settings.job_poll_seconds, stop)
    for task in list(running.values()):
        task.cancel()
    await asyncio.gather(*running.values(), return_exceptions=True)


def _started(
    services: Services, job_id: str, running: dict[str, asyncio.Task[None]]
) -> asyncio.Task[None]:
    task = asyncio.create_task(_run(services, job_id))
    task.add_done_callback(lambda _: running.pop(job_id, None))
    return task


async def _due(services: Services, limit: int) -> list[str]:
    try:
        return await services.jobs.due(limit=limit)
    except TenantryError as error:
        log.warning("worker.jobs_unavailable", code=error.code, error=error.message)
        return []


async def _run(services: Services, job_id: str) -> None:
    try:
        job = await services.jobs.run(job_id)
    except TenantryError as error:
        log.warning("worker.job_interrupted", job_id=job_id, code=error.code, error=error.message)
        return
    if job is not None:
        log.info("worker.job_ended", job_id=job_id, kind=job.kind, state=job.state)


async def _sleep(services: Services, seconds: float, stop: asyncio.Event) -> None:
    """Sleep ``seconds``, or less when a job is requested here or the loop is stopped."""
    waits = [
        asyncio.ensure_future(services.job_requested.wait()),
        asyncio.ensure_future(stop.wait()),
    ]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await wait

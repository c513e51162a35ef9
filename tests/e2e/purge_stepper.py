"""A process running a delete job that stops dead right after one step's work, for the SIGKILL
test: the step's effects are done, its record still says ``running``.

Run as ``python -m tests.e2e.purge_stepper DATABASE_URL DATA_DIR JOB_ID STEP``: it claims the job
and, once STEP's work is done, prints ``ACTED`` and waits to be killed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

from tenantry.bootstrap import services, toolkit
from tenantry.core import logging
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.recipes import recipes
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.lifecycle.steps import Step, StepFn, Work
from tenantry.tenancy.registry import database

LEASE = 1.0  # seconds: the killed worker's claim expires soon after


def _paused(run: StepFn) -> StepFn:
    async def step(work: Work) -> None:
        await run(work)
        print("ACTED", flush=True)  # noqa: T201 - the parent reads this line
        await asyncio.sleep(3600)  # paused after the step's work until the parent kills it

    return step


async def main(url: str, data_dir: str, job_id: str, name: str) -> None:
    logging.configure(level="WARNING")  # logs go to stderr; stdout carries ACTED only
    settings = Settings(database_url=url, data_dir=Path(data_dir), job_lease_seconds=LEASE)
    async with services(settings) as wired:
        sessions = database.session_factory(wired.engine)
        real = recipes(toolkit(settings, sessions, wired.controller, wired.controller.clock))

        def pausing(job: Job) -> list[Step]:
            steps = real[JobKind.DELETE](job)
            return [
                dataclasses.replace(s, run=_paused(s.run)) if s.name == name else s for s in steps
            ]

        ended = await wired.jobs.variant({**real, JobKind.DELETE: pausing}).run(job_id)
        print("DONE", None if ended is None else ended.state, flush=True)  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))

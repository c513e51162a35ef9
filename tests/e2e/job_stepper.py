"""A worker that stops dead right after the Nth step of a job has done its work, before the
runner records it, for the lifecycle SIGKILL tests.

Run as ``python -m tests.e2e.job_stepper DATABASE_URL DATA_DIR JOB_ID N``: it runs the job and,
once its Nth step returns, prints ``STEPPED`` and waits to be killed. The resumed job must run
that step again (steps are idempotent) and end as if nothing had happened.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from tenantry.bootstrap import services
from tenantry.core import logging
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.steps import Recipe, Step, Work

LEASE = 1.0  # seconds: a test resumes the job once the dead process's claim expires


def stopping(recipe: Recipe, after: int) -> Recipe:
    def steps(job: Job) -> Sequence[Step]:
        found = list(recipe(job))
        return [_stopping(s) if i == after - 1 else s for i, s in enumerate(found)]

    return steps


def _stopping(step: Step) -> Step:
    async def run(work: Work) -> None:
        await step.run(work)
        print("STEPPED", step.name, flush=True)  # noqa: T201 - the parent reads this line
        await asyncio.sleep(3600)  # killed here, before the runner records the step

    return Step(step.name, run, step.undo, step.final)


async def main(url: str, data_dir: str, job_id: str, after: int) -> None:
    logging.configure(level="WARNING")
    settings = Settings(database_url=url, data_dir=Path(data_dir), job_lease_seconds=LEASE)
    async with services(settings) as wired:
        job = await wired.lifecycle.get(job_id)
        recipes = dict(wired.jobs.recipes)
        recipes[job.kind] = stopping(recipes[job.kind], after)
        ended = await wired.jobs.variant(recipes).run(job_id)
        print("DONE", ended.state if ended else None, flush=True)  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))

"""A process running a suspend job that stops dead inside its Nth step, for the SIGKILL test.

Run as ``python -m tests.e2e.suspend_stepper DATABASE_URL DATA_DIR JOB_ID N``: it runs the job
and, once the work of step N (1-based) is done but before the runner records it, prints
``ACTED`` and waits to be killed (its claim and its heartbeat are left behind, fresh).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path

from tenantry.bootstrap import services
from tenantry.core import logging
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.lifecycle.steps import Step, Work


def stopping(step: Step) -> Step:
    async def run(work: Work) -> None:
        await step.run(work)
        print("ACTED", flush=True)  # noqa: T201 - the parent reads this line
        await asyncio.sleep(3600)  # paused inside the step until the parent kills it

    return replace(step, run=run)


async def main(url: str, data_dir: str, job_id: str, step: int) -> None:
    logging.configure(level="WARNING")  # logs go to stderr; stdout carries ACTED only
    settings = Settings(database_url=url, data_dir=Path(data_dir))
    async with services(settings) as wired:
        recipe = wired.jobs.recipes[JobKind.SUSPEND]

        def steps(job: Job) -> list[Step]:
            found = list(recipe(job))
            found[step - 1] = stopping(found[step - 1])
            return found

        done = await wired.jobs.variant({JobKind.SUSPEND: steps}).run(job_id)
        print("DONE", done.state if done else None, flush=True)  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))

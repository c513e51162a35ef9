"""A job-running process that stops dead inside its Nth step, for the SIGKILL tests.

Run as ``python -m tests.e2e.job_stepper DATABASE_URL DATA_DIR JOB_ID N``: it claims the job
(a short lease, renewed while it lives) and runs it with the real recipes; right after the Nth
step it runs has done its work, before the step is recorded done, it prints ``ACTED`` and
waits to be killed. A process killed there leaves the job claimed, and that step to run again.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tenantry.backends.keys.keyring import Keyring
from tenantry.bootstrap import archives, services
from tenantry.core import logging
from tenantry.core.settings import Settings
from tenantry.runtime.crypto import Sealer
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.recipes import Toolkit, recipes
from tenantry.tenancy.lifecycle.steps import Recipe, Step, StepFn, Work
from tenantry.tenancy.registry.database import session_factory

LEASE = 0.5  # seconds: the test resumes the job once the dead process's claim expires


def stopping(recipe: Recipe, budget: list[int]) -> Recipe:
    def wrapped(run: StepFn) -> StepFn:
        async def stopped(work: Work) -> None:
            await run(work)
            budget[0] -= 1
            if budget[0] == 0:
                print("ACTED", flush=True)  # noqa: T201 - the parent reads this line
                await asyncio.sleep(3600)  # paused until the parent kills it

        return stopped

    def steps(job: Job) -> list[Step]:
        return [Step(s.name, wrapped(s.run), s.undo, s.final) for s in recipe(job)]

    return steps


async def main(url: str, data_dir: str, job_id: str, steps: int) -> None:
    logging.configure(level="WARNING")  # logs go to stderr; stdout carries ACTED only
    settings = Settings(database_url=url, data_dir=Path(data_dir), job_lease_seconds=LEASE)
    async with services(settings) as wired:
        toolkit = Toolkit(
            session_factory(wired.engine),
            clock=wired.controller.clock,
            controller=wired.controller,
            archives=archives(settings),
            sealer=Sealer(Keyring(settings.data_dir.resolve())),
        )
        budget = [steps]
        real = recipes(toolkit)
        job = await wired.jobs.variant({k: stopping(r, budget) for k, r in real.items()}).run(
            job_id
        )
        print("DONE", job and job.state, flush=True)  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))

"""A worker that runs a migrate job and stops dead right after one of its steps, for the
SIGKILL test.

Run as ``python -m tests.e2e.migrate_stepper SETTINGS_JSON JOB_ID STEP``: it runs the job and,
right after STEP's work is done (before the step is recorded as done), prints ``ACTED`` and
waits to be killed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys

from tenantry.bootstrap import services
from tenantry.core import logging
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.recipes import migration
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.lifecycle.steps import Step, Work


async def main(settings_json: str, job_id: str, stop_after: str) -> None:
    logging.configure(level="WARNING")  # logs go to stderr; stdout carries ACTED only
    settings = Settings.model_validate_json(settings_json)
    async with services(settings) as wired:
        assert wired.retirements is not None
        base = migration.migrate(wired.retirements.toolkit)

        def steps(job: Job) -> list[Step]:
            found = list(base(job))
            index = next(i for i, s in enumerate(found) if s.name == stop_after)
            original = found[index].run

            async def then_stop(work: Work) -> None:
                await original(work)
                print("ACTED", flush=True)  # noqa: T201 - the parent reads this line
                await asyncio.sleep(3600)  # paused until the parent kills it

            found[index] = dataclasses.replace(found[index], run=then_stop)
            return found

        await wired.jobs.variant({JobKind.MIGRATE: steps}).run(job_id)
        print("DONE", flush=True)  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))

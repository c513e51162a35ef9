"""Suspend and resume.

The tenant is ``suspended`` from the moment the suspend is requested (in that transaction), so
every scope opened and every credential checked after it is refused. Resume checks that every
environment's stores can be bound again before the job makes the tenant ``active``.
"""

from __future__ import annotations

from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.recipes.toolkit import Toolkit
from tenantry.tenancy.lifecycle.steps import Recipe, Step, Work


def suspend(toolkit: Toolkit) -> Recipe:
    del toolkit

    def steps(job: Job) -> list[Step]:
        del job
        return []

    return steps


def resume(toolkit: Toolkit) -> Recipe:
    async def reopen(work: Work) -> None:
        for env in await toolkit.environments(work.job.tenant_id):
            await work.maintenance.scope(work.job.tenant_id, env)

    def steps(job: Job) -> list[Step]:
        del job
        return [Step("reopen", reopen)]

    return steps

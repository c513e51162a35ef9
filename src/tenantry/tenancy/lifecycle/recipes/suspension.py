"""Suspend and resume.

The tenant is ``suspended`` from the moment the suspend is requested (in that transaction), so
every scope opened and every credential checked after it is refused. The job then raises the
tenant's fence and drains it: it ends once every live process has no request of the tenant in
flight that began before (``fence``). Raising the fence is the point of no return: a suspend
that cannot drain fails with the tenant still suspended, and ``retry`` drains again. Resume
checks that every environment's stores can be bound again before the job makes the tenant
``active``.
"""

from __future__ import annotations

from tenantry.tenancy.lifecycle.fence.drain import Fences
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.recipes.toolkit import Toolkit
from tenantry.tenancy.lifecycle.steps import Recipe, Step, Work

FENCE = "fence"  # the output naming the raised fence's sequence


def suspend(toolkit: Toolkit) -> Recipe:
    fences = toolkit.fences or Fences(toolkit.sessions)

    async def fence(work: Work) -> None:
        await work.remember(**{FENCE: await fences.raise_fence(work.job.tenant_id)})

    async def drain(work: Work) -> None:
        await fences.drained(work.job.tenant_id, int(work.outputs[FENCE]))

    def steps(job: Job) -> list[Step]:
        del job
        return [Step("fence", fence, final=True), Step("drain", drain)]

    return steps


def resume(toolkit: Toolkit) -> Recipe:
    async def reopen(work: Work) -> None:
        for env in await toolkit.environments(work.job.tenant_id):
            await work.maintenance.scope(work.job.tenant_id, env)

    def steps(job: Job) -> list[Step]:
        del job
        return [Step("reopen", reopen)]

    return steps

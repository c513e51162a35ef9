"""Restore: check an archive (the newest, or ``options["archive_id"]``), provision the tenant
again, bring every resource kind back, and check what the stores hold against the manifest.

Every file is checked (size, SHA-256, seal, records) before anything is provisioned, so a
tampered archive fails the job with the tenant still ``archived``. Imports are idempotent
(writes over what a half-done run left), so a job killed at any step resumes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from tenantry.core import names
from tenantry.core.errors import Unavailable
from tenantry.tenancy.controller.conditions import Result
from tenantry.tenancy.lifecycle.archives import (
    ArchiveCorrupt,
    Exportable,
    FileEntry,
    Record,
    Shelf,
    count_key,
    newest,
)
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.kinds.every import ARCHIVED
from tenantry.tenancy.lifecycle.recipes.archive import controller, scope_of, shelf, targets
from tenantry.tenancy.lifecycle.recipes.toolkit import Toolkit
from tenantry.tenancy.lifecycle.steps import Recipe, Step, StepFn, Work


class RestoreIncomplete(ArchiveCorrupt):
    code = "archive.restore_incomplete"


class ProvisioningPending(Unavailable):
    code = "archive.provisioning_pending"


async def _records(kept: Shelf, entries: list[FileEntry]) -> AsyncIterator[Record]:
    for entry in entries:
        for record in await kept.records(entry):
            yield record


def restore(toolkit: Toolkit) -> Recipe:
    return _Restore(toolkit).steps


class _Restore:
    def __init__(self, toolkit: Toolkit) -> None:
        self.toolkit = toolkit

    def steps(self, job: Job) -> list[Step]:
        del job
        return [
            Step("locate", self.locate),
            Step("verify", self.verify),
            Step("provision", self.provision),
            *(Step(f"import-{kind.name}", self.importer(kind)) for kind in ARCHIVED),
            Step("check", self.check),
        ]

    async def locate(self, work: Work) -> None:
        if "archive_id" in work.outputs:
            return
        tenant, chosen = work.job.tenant_id, work.job.params.get("archive_id")
        if self.toolkit.archives is None:
            raise RuntimeError("this toolkit has no archive area")  # a wiring mistake
        space = self.toolkit.archives.space(tenant)
        archive = names.check_archive_id(chosen) if chosen else await newest(space, tenant)
        await work.remember(archive_id=archive)
        found = await shelf(self.toolkit, work).manifest()
        await work.remember(environments=found.environments)

    async def verify(self, work: Work) -> None:
        kept = shelf(self.toolkit, work)
        for entry in (await kept.manifest()).files:
            await kept.records(entry)

    async def provision(self, work: Work) -> None:
        outcome = await controller(self.toolkit).reconcile(work.job.tenant_id, for_job=True)
        if outcome.result is Result.READY:
            return
        message = f"provisioning tenant {work.job.tenant_id!r}: {outcome.message}"
        if outcome.result is Result.FAILED:
            raise RestoreIncomplete(message)
        raise ProvisioningPending(message)

    def importer(self, kind: Exportable) -> StepFn:
        async def run(work: Work) -> None:
            kept = shelf(self.toolkit, work)
            files = (await kept.manifest()).files
            for env in targets(kind, work.outputs["environments"]):
                mine = [f for f in files if (f.kind, f.env) == (kind.name, env)]
                await kind.restore(await scope_of(work, env), _records(kept, mine))

        return run

    async def check(self, work: Work) -> None:
        counts = (await shelf(self.toolkit, work).manifest()).counts
        for kind in ARCHIVED:
            for env in targets(kind, work.outputs["environments"]):
                held = await kind.count(await scope_of(work, env))
                listed = counts.get(count_key(kind.name, env), 0)
                if held != listed:
                    raise RestoreIncomplete(
                        f"restored {kind.name} of {env or 'the tenant'} hold {held} item(s); "
                        f"archive {work.outputs['archive_id']} lists {listed}",
                        details={"kind": kind.name, "env": env, "held": held, "listed": listed},
                    )

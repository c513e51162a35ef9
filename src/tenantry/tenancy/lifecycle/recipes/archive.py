"""Archive: export every resource kind of every environment into a sealed archive in the
tenant's archive area, verify it, then remove the hot resources (the point of no return).

The tenant is ``suspended`` from the request on, so nothing changes while it is exported; a
cancel before ``remove`` deletes the partial archive and gives the tenant its state back.
Secrets stay in the control database (sealed, like the archive's copy) and the key stays.
"""

from __future__ import annotations

import secrets
from typing import Any

from tenantry.core import names
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.controller.resources import Kind
from tenantry.tenancy.controller.service import Controller
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.lifecycle.archives import Exportable, FileEntry, Manifest, Shelf, count_key
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.kinds.every import ARCHIVED
from tenantry.tenancy.lifecycle.recipes.toolkit import Toolkit
from tenantry.tenancy.lifecycle.steps import Recipe, Step, StepFn, Work

RETIRED = (Kind.RELATIONAL, Kind.OBJECTS)  # per environment, after their data left


def shelf(toolkit: Toolkit, work: Work) -> Shelf:
    if toolkit.archives is None or toolkit.sealer is None:
        raise RuntimeError("this toolkit has no archive area")  # a wiring mistake
    tenant = work.job.tenant_id
    archive = names.check_archive_id(work.outputs["archive_id"])
    return Shelf(toolkit.archives.space(tenant), toolkit.sealer, tenant, archive)


def controller(toolkit: Toolkit) -> Controller:
    if toolkit.controller is None:
        raise RuntimeError("this toolkit has no controller")  # a wiring mistake
    return toolkit.controller


def targets(kind: Exportable, environments: list[str]) -> list[str | None]:
    """Where a kind is exported from: each environment, or once (``None``) if tenant-wide."""
    if kind.tenant_wide:
        return [None] if environments else []
    return list(environments)


async def scope_of(work: Work, env: str | None) -> TenantScope:
    """The environment's scope (a tenant-wide kind uses the first environment's)."""
    return await work.maintenance.scope(work.job.tenant_id, env or work.outputs["environments"][0])


def archive(toolkit: Toolkit) -> Recipe:
    return _Archive(toolkit).steps


class _Archive:
    def __init__(self, toolkit: Toolkit) -> None:
        self.toolkit = toolkit

    def steps(self, job: Job) -> list[Step]:
        del job
        return [
            Step("prepare", self.prepare, self.discard),
            *(Step(f"export-{kind.name}", self.exporter(kind)) for kind in ARCHIVED),
            Step("manifest", self.manifest),
            Step("verify", self.verify),
            Step("remove", self.remove, final=True),
        ]

    async def prepare(self, work: Work) -> None:
        if "archive_id" not in work.outputs:
            made = names.archive_id(self.toolkit.clock(), secrets.token_hex(4))
            environments = await self.toolkit.environments(work.job.tenant_id)
            await work.remember(archive_id=made, environments=environments)

    async def discard(self, work: Work) -> None:
        if "archive_id" in work.outputs:
            await shelf(self.toolkit, work).remove()

    def exporter(self, kind: Exportable) -> StepFn:
        async def run(work: Work) -> None:
            files: list[dict[str, Any]] = []
            counts: dict[str, int] = {}
            for env in targets(kind, work.outputs["environments"]):
                scope = await scope_of(work, env)
                entries, items = await shelf(self.toolkit, work).write_parts(
                    kind.name, env, kind.export(scope)
                )
                files += [entry.model_dump() for entry in entries]
                counts[count_key(kind.name, env)] = items
            await work.remember(**{f"files:{kind.name}": files, f"counts:{kind.name}": counts})

        return run

    async def manifest(self, work: Work) -> None:
        outputs = work.outputs
        found = Manifest(
            tenant_id=work.job.tenant_id,
            archive_id=outputs["archive_id"],
            created_at=self.toolkit.clock(),
            environments=outputs["environments"],
            counts={k: v for kind in ARCHIVED for k, v in outputs[f"counts:{kind.name}"].items()},
            files=[FileEntry(**f) for kind in ARCHIVED for f in outputs[f"files:{kind.name}"]],
        )
        await shelf(self.toolkit, work).put_manifest(found)

    async def verify(self, work: Work) -> None:
        kept = shelf(self.toolkit, work)
        for entry in (await kept.manifest()).files:
            await kept.records(entry)  # size, SHA-256, seal and record count

    async def remove(self, work: Work) -> None:
        row = await self.toolkit.tenant(work.job.tenant_id)
        for env in work.outputs["environments"]:
            scope = await scope_of(work, env)
            for kind in ARCHIVED:
                if kind.remove is not None:
                    await kind.remove(scope)
            placement = Placement.from_dict((row.placement or {})[env])
            await retire(controller(self.toolkit), placement)


async def retire(found: Controller, placement: Placement) -> None:
    """Retire the environment's relational and object spaces (their data is archived)."""
    for provisioner in found.provisioners:
        resource = provisioner.wanted(placement) if provisioner.kind in RETIRED else None
        if resource is not None:
            await provisioner.retire(resource)
    if found.migrator is not None:
        await found.migrator.forget(placement.tenant_id, placement.env_id)

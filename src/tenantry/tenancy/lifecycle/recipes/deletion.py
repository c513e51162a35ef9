"""Delete: the purge of a tenant (after retention), or of one environment removed from its
manifest, torn down in dependency order.

The inventory (what the tenant, or the environment, holds) is read once under the reconcile
lease and remembered, so a resumed job purges what it set out to purge. Every later step is
idempotent and ``final``: once the purge has begun there is no going back. For each
environment, its runtime data (sessions, state, search documents, objects) goes before the
spaces that hold it (relational, object space, stream); then, tenant-wide, the control
database's records, and last the tenant's key-encryption keys (crypto-shredding: whatever copy
of its sealed data survives anywhere no longer opens). The tenant's row stays as a tombstone.
An environment's purge removes only that environment's data and resources, never keys, and
purges nothing if the environment was added back meanwhile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tenantry.core.logging import get_logger
from tenantry.runtime.blobs import MAX_PAGE
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.controller.resources import Kind, Resource
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.lifecycle import purging
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.recipes.toolkit import Toolkit
from tenantry.tenancy.lifecycle.steps import Recipe, Step, StepFn, Work
from tenantry.tenancy.registry.errors import translated

log = get_logger(__name__)
INVENTORY = "purge"  # in the job's outputs: what the purge removes


def delete(toolkit: Toolkit) -> Recipe:
    purge = _Purge(toolkit)

    def steps(job: Job) -> list[Step]:
        return purge.steps(job.env_id)

    return steps


class _Inventory:
    def __init__(self, work: Work) -> None:
        found: dict[str, Any] = work.outputs[INVENTORY]
        self.placements = {e: Placement.from_dict(p) for e, p in found["placements"].items()}
        self.resources = [Resource.from_dict(r) for r in found["resources"]]
        self.kept = bool(found.get("kept"))  # the environment was added back: nothing to purge

    def of(self, env: str, kind: Kind) -> list[Resource]:
        return [r for r in self.resources if r.env_id == env and r.kind is kind]


class _Purge:
    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit

    def steps(self, env_id: str | None) -> list[Step]:
        purge = [
            Step("inventory", self.inventory),
            Step("sessions", self.each(lambda scope: scope.sessions.clear()), final=True),
            Step("state", self.each(lambda scope: scope.state.clear()), final=True),
            Step("search", self.each(lambda s: s.search.clear(), Kind.RELATIONAL), final=True),
            Step("objects", self.each(lambda s: s.objects.clear(), Kind.OBJECTS), final=True),
            Step("relational", self.retiring(Kind.RELATIONAL), final=True),
            Step("object-spaces", self.retiring(Kind.OBJECTS), final=True),
            Step("streams", self.retiring(Kind.MESSAGING), final=True),
            Step("records", self.records, final=True),
        ]
        if env_id is not None:
            return [*purge, Step("forget", self.forget, final=True)]
        archives = Step("archives", self.archives, final=True)
        shred = Step("keys", self.keys, final=True)
        return [*purge, archives, shred, Step("tombstone", self.tombstone, final=True)]

    async def inventory(self, work: Work) -> None:
        """What to purge, taken once (the later steps change what it reads)."""
        if INVENTORY in work.outputs:
            return
        tenant, env = work.job.tenant_id, work.job.env_id
        held = await self._toolkit.holder().held(tenant)
        placements, resources, kept = held.placements, held.owned, False
        if env is not None:
            kept = env in held.environments  # added back: its resources serve again
            placements = {} if kept or env not in placements else {env: placements[env]}
            resources = [] if kept else [r for r in resources if r.env_id == env]
        found = {
            "placements": {e: p.as_dict() for e, p in placements.items()},
            "resources": [r.as_dict() for r in resources],
            "kept": kept,
        }
        await work.remember(**{INVENTORY: found})

    def each(
        self, act: Callable[[TenantScope], Awaitable[object]], needs: Kind | None = None
    ) -> StepFn:
        """A step acting on each environment's maintenance scope (where ``needs`` exists)."""

        async def run(work: Work) -> None:
            found = _Inventory(work)
            for env, placement in sorted(found.placements.items()):
                if needs is not None and not await self._exists(found.of(env, needs)):
                    continue  # no such space (or it is gone already): nothing in it to remove
                await act(await work.maintenance.scope(work.job.tenant_id, env, placement))

        return run

    async def _exists(self, resources: list[Resource]) -> bool:
        for resource in resources:
            provisioner = self._toolkit.provisioner(resource.kind)
            if provisioner is not None and await provisioner.exists(resource):
                return True
        return False

    def retiring(self, kind: Kind) -> StepFn:
        """A step removing every resource of ``kind`` in the inventory, with what it holds."""

        async def run(work: Work) -> None:
            provisioner = self._toolkit.provisioner(kind)
            for resource in _Inventory(work).resources:
                if resource.kind is not kind:
                    continue
                if provisioner is None:
                    log.warning("lifecycle.purge_unreachable", resource=resource.as_dict())
                    continue
                await provisioner.retire(resource)

        return run

    async def records(self, work: Work) -> None:
        tenant, env = work.job.tenant_id, work.job.env_id
        if _Inventory(work).kept:
            return
        async with translated(), self._toolkit.sessions() as session, session.begin():
            await purging.remove_records(session, tenant, env, now=self._toolkit.clock())

    async def archives(self, work: Work) -> None:
        """The tenant's archives (sealed with its keys: unreadable after the shred anyway)."""
        if self._toolkit.archives is None:
            return
        space = self._toolkit.archives.space(work.job.tenant_id)
        while page := await space.list("", limit=MAX_PAGE):
            for key in page:
                await space.delete(key)

    async def keys(self, work: Work) -> None:
        """Crypto-shredding: the tenant's key-encryption keys, last."""
        self._toolkit.keys.destroy(work.job.tenant_id)

    async def forget(self, work: Work) -> None:
        await self._toolkit.holder().forget(work.job.tenant_id, self._removed(work))

    async def tombstone(self, work: Work) -> None:
        """Forget what was removed (what no backend here could reach stays listed)."""
        await self._toolkit.holder().forget(work.job.tenant_id, self._removed(work))
        async with translated(), self._toolkit.sessions() as session, session.begin():
            await purging.tombstone(session, work.job.tenant_id, now=self._toolkit.clock())

    def _removed(self, work: Work) -> list[Resource]:
        return [
            r
            for r in _Inventory(work).resources
            if r.kind is Kind.KEY or self._toolkit.provisioner(r.kind) is not None
        ]

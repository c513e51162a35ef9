"""What the lifecycle's purges ask of the controller, and what the controller asks of them.

A purge reads what a tenant holds (:class:`Held`) and forgets what it removed through the
controller, which owns those records; the controller schedules an environment's purge when it
orphans the environment and cancels it when the environment comes back (:class:`Purges`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core.errors import Unavailable
from tenantry.tenancy.controller.plan import Step, Verb
from tenantry.tenancy.controller.resources import Reason, Resource
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.lifecycle.states import JobKind

PURGE_ACTOR = "controller"  # who requests an environment's purge


class TenantBusy(Unavailable):
    code = "tenant.reconciling"


class Purges(Protocol):
    """Schedules and cancels environments' purges in the controller's open transaction
    (``LifecycleService``: a delete job scoped to the environment)."""

    async def request_in(
        self,
        session: AsyncSession,
        kind: JobKind,
        tenant_id: str,
        *,
        actor: str,
        options: dict[str, str],
    ) -> object: ...

    async def cancel_delete_in(
        self, session: AsyncSession, tenant_id: str, env_id: str | None = None
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class Held:
    """What a tenant holds, read under its reconcile lease: the placement of each environment
    (stored, or recovered from a removed environment's orphaned resources) and every owned
    resource, orphaned ones included."""

    placements: dict[str, Placement]
    owned: list[Resource]
    orphaned: dict[Resource, Reason]
    environments: list[str]  # the spec's


def removed(steps: Iterable[Step]) -> list[str]:
    """The environments a reconcile's steps orphan because they left the manifest."""
    found = {
        s.resource.env_id
        for s in steps
        if s.verb is Verb.ORPHAN and s.reason is Reason.ENVIRONMENT_REMOVED
    }
    return sorted(e for e in found if e is not None)


def returned(orphaned: Mapping[Resource, Reason], placements: Iterable[Placement]) -> list[str]:
    """The removed environments (orphaned resources) that serve again."""
    served = {p.env_id for p in placements}
    found = {
        r.env_id
        for r, why in orphaned.items()
        if why is Reason.ENVIRONMENT_REMOVED and r.env_id in served
    }
    return sorted(e for e in found if e is not None)

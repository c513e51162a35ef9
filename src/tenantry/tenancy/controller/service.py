"""Reconcile one tenant: desired placements -> observed resources -> pure plan -> steps -> status.

Level-triggered and idempotent: every step creates-if-absent or removes-if-present, names are
deterministic, and what a step is about to create is recorded as owned before it runs, so a
process killed at any point converges on restart with no duplicate and no orphan. Transient
errors leave the tenant ``Degraded`` and due for a retry; permanent ones mark it ``Failed`` for
this generation, so it waits for a spec change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import TenantryError, Unavailable
from tenantry.core.logging import get_logger
from tenantry.tenancy.controller import conditions, repository
from tenantry.tenancy.controller.plan import Step, Verb, plan
from tenantry.tenancy.controller.resources import Kind, Provisioner, Resource
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.isolation.strategies import Layout, place
from tenantry.tenancy.manifests.schemas import Profile
from tenantry.tenancy.registry.database import session_factory
from tenantry.tenancy.registry.errors import TenantNotFound, translated
from tenantry.tenancy.registry.schemas import LifecycleState
from tenantry.tenancy.schema.service import Migrator

log = get_logger(__name__)
_SETTLED_STATES = {LifecycleState.PENDING.value, LifecycleState.PROVISIONING.value}


@dataclass(frozen=True, slots=True)
class Outcome:
    tenant_id: str
    result: str  # ready | degraded | failed | skipped
    steps: tuple[str, ...] = ()
    message: str = ""


class Controller:
    def __init__(
        self,
        engine: AsyncEngine,
        provisioners: Sequence[Provisioner],
        *,
        layout: Layout | None = None,
        migrator: Migrator | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.engine = engine
        self.migrator = migrator
        self.provisioners = provisioners
        self.layout = layout or Layout()
        self.clock = clock
        self._sessions = session_factory(engine)
        self._locks: dict[str, asyncio.Lock] = {}

    async def due(self) -> list[str]:
        async with translated(), self._sessions() as session:
            return await repository.due(session)

    async def everyone(self) -> list[str]:
        async with translated(), self._sessions() as session:
            return await repository.all_ids(session)

    async def reconcile(self, tenant_id: str) -> Outcome:
        """Bring one tenant's resources in line with its spec (one reconcile per tenant at once)."""
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock, translated(), repository.lease(self.engine, tenant_id) as held:
            if not held:
                return Outcome(tenant_id, "skipped", message="another worker is reconciling it")
            return await self._reconcile(tenant_id)

    async def _reconcile(self, tenant_id: str) -> Outcome:
        async with self._sessions() as session:
            desired = await repository.load(session, tenant_id)
        if desired is None:
            raise TenantNotFound(tenant_id)
        if desired.marked_for_deletion:
            return Outcome(tenant_id, "skipped", message="marked for deletion")
        steps: list[Step] = []
        try:
            placements = [
                place(Profile(desired.profile), tenant_id, env, self.layout)
                for env in desired.environments
            ]
            wanted, steps = await self._plan(placements, desired.owned)
            await self._begin(desired, steps)
            await self._execute(tenant_id, steps)
            await self._migrate(placements)
        except TenantryError as error:
            result = "degraded" if error.kind.transient else "failed"
            return await self._settle(desired, result, steps, error.message)
        except Exception as error:  # a controller outlives surprises: retry them as transient
            log.exception("controller.unexpected_error", tenant_id=tenant_id)
            return await self._settle(desired, "degraded", steps, f"unexpected error: {error}")
        placement = {p.env_id: p.as_dict() for p in placements}
        return await self._settle(
            desired, "ready", steps, "all resources exist", placement, owned=wanted
        )

    async def reconcile_many(
        self,
        tenant_ids: Sequence[str],
        *,
        concurrency: int = 4,
        done: Callable[[Outcome], None] | None = None,
    ) -> list[Outcome]:
        """Reconcile tenants, at most ``concurrency`` at once; ``done`` hears of each."""
        gate = asyncio.Semaphore(concurrency)

        async def one(tenant_id: str) -> Outcome:
            async with gate:
                outcome = await self.reconcile(tenant_id)
            if done is not None:
                done(outcome)
            return outcome

        return list(await asyncio.gather(*(one(t) for t in tenant_ids)))

    async def preview(
        self, tenant_id: str, profile: Profile, environments: list[str]
    ) -> list[Step]:
        """The steps a reconcile would take for this desired state, observing but not acting."""
        async with translated(), self._sessions() as session:
            stored = await repository.load(session, tenant_id)
        owned = stored.owned if stored is not None else []
        placements = [place(profile, tenant_id, env, self.layout) for env in environments]
        return (await self._plan(placements, owned))[1]

    async def close(self) -> None:
        """Release the provisioners' connections."""
        for provisioner in self.provisioners:
            await provisioner.close()

    def _provisioner(self, kind: Kind) -> Provisioner:
        return next(p for p in self.provisioners if p.kind is kind)

    async def _plan(
        self, placements: list[Placement], owned: list[Resource]
    ) -> tuple[set[Resource], list[Step]]:
        wanted = {
            r for p in placements for prov in self.provisioners if (r := prov.wanted(p)) is not None
        }
        existing = {r for r in wanted if await self._provisioner(r.kind).exists(r)}
        return wanted, plan(wanted, existing, owned)

    async def _begin(self, desired: repository.Desired, steps: list[Step]) -> None:
        """Mark the tenant provisioning and record, before acting, every resource about to be
        created as owned: a process killed at any later point leaves no orphan behind."""
        if not steps:
            return
        intended = {*desired.owned, *(s.resource for s in steps if s.verb is Verb.ENSURE)}
        now = self.clock()
        state = (
            LifecycleState.PROVISIONING.value
            if desired.lifecycle_state in _SETTLED_STATES
            else None
        )
        async with self._sessions() as session, session.begin():
            marked = conditions.put(
                desired.conditions,
                "Provisioning",
                "True",
                reason="Reconciling",
                message=f"{len(steps)} step(s)",
                now=now,
            )
            await repository.write_status(
                session,
                desired.tenant_id,
                conditions=marked,
                now=now,
                lifecycle_state=state,
                owned=sorted(intended),
            )

    async def _execute(self, tenant_id: str, steps: list[Step]) -> None:
        for step in steps:
            provisioner = self._provisioner(step.resource.kind)
            if step.verb is Verb.ENSURE:
                await provisioner.ensure(step.resource)
            else:  # still recorded as owned until the tenant settles: a retry retires it again
                await provisioner.retire(step.resource)
            log.debug("controller.step", tenant_id=tenant_id, step=str(step))

    async def _migrate(self, placements: list[Placement]) -> None:
        """Bring the tenant's data to the newest tenant schema; provisioning includes this."""
        if self.migrator is None:
            return
        failed = [r for r in await self.migrator.upgrade_placements(placements) if r.error]
        if failed:
            details = "; ".join(f"{r.env_id}: {r.error}" for r in failed)
            raise Unavailable(
                f"tenant schema migration failed ({details})", code="schema.migration_failed"
            )

    async def _settle(
        self,
        desired: repository.Desired,
        result: str,
        steps: list[Step],
        message: str,
        placement: dict[str, Any] | None = None,
        *,
        owned: set[Resource] | None = None,
    ) -> Outcome:
        now = self.clock()
        settled = conditions.settle(desired.conditions, result, message, now=now)
        observed = None if result == "degraded" else desired.generation
        state = (
            LifecycleState.ACTIVE.value
            if result == "ready" and desired.lifecycle_state in _SETTLED_STATES
            else None
        )
        async with self._sessions() as session, session.begin():
            await repository.write_status(
                session,
                desired.tenant_id,
                conditions=settled,
                now=now,
                observed_generation=observed,
                placement=placement,
                lifecycle_state=state,
                owned=sorted(owned) if owned is not None else None,
            )
        return Outcome(desired.tenant_id, result, tuple(str(s) for s in steps), message)

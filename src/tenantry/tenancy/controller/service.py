"""Reconcile one tenant: desired placements -> observed resources -> pure plan -> steps -> status.

Level-triggered and idempotent: steps only create-if-absent, names are deterministic, and what a
step is about to create is recorded as owned before it runs, so a process killed at any point
converges on restart with no duplicate and no orphan. Nothing here removes a resource: what is
no longer wanted is recorded as orphaned, and a changed placement waits for a migration (see
``docs/controller.md``); an environment newly orphaned that way gets its purge scheduled (a
lifecycle job, after retention) in the transaction that records it, and one added back before
the purge ran gets it cancelled. Transient errors leave the tenant ``Degraded`` and due for a retry;
permanent ones mark it ``Failed`` for this generation, so it waits for a spec change.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import TenantryError, Unavailable
from tenantry.core.logging import get_logger
from tenantry.tenancy.controller import audit, conditions, holdings, repository
from tenantry.tenancy.controller.conditions import Result
from tenantry.tenancy.controller.holdings import Held, Purges, TenantBusy
from tenantry.tenancy.controller.plan import (
    Move,
    Step,
    Verb,
    orphans,
    plan,
    recovered,
    serving,
)
from tenantry.tenancy.controller.resources import Kind, Provisioner, Reason, Resource
from tenantry.tenancy.deployment import MULTI_TENANT, Deployment
from tenantry.tenancy.events.announcements import provisioned
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.isolation.strategies import Layout, place
from tenantry.tenancy.lifecycle import states as lifecycle
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.manifests.schemas import Profile
from tenantry.tenancy.registry.database import session_factory
from tenantry.tenancy.registry.errors import TenantNotFound, translated
from tenantry.tenancy.schema.service import Migrator

log = get_logger(__name__)
_SETTLED_STATES = {LifecycleState.PENDING.value, LifecycleState.PROVISIONING.value}


__all__ = ["Controller", "Decision", "Held", "Outcome", "Purges", "Result"]


@dataclass(frozen=True, slots=True)
class Outcome:
    tenant_id: str
    result: Result
    steps: tuple[str, ...] = ()
    message: str = ""
    moves: tuple[str, ...] = ()  # environments that wait for a migration ("env: a -> b")


@dataclass(frozen=True, slots=True)
class Decision:
    """What one reconcile will do, decided before it acts."""

    placements: list[Placement]  # what each wanted environment serves on
    moves: list[Move]  # environments that stay on their stored placement until migrated
    steps: list[Step]
    owned: list[Resource]  # what the tenant holds after it: never less than before
    orphaned: dict[Resource, Reason]


class Controller:
    def __init__(
        self,
        engine: AsyncEngine,
        provisioners: Sequence[Provisioner],
        *,
        layout: Layout | None = None,
        migrator: Migrator | None = None,
        clock: Clock = utc_now,
        purges: Purges | None = None,
        migrations: Callable[[str], Awaitable[object]] | None = None,
        deployment: Deployment = MULTI_TENANT,
    ) -> None:
        """``migrations(tenant_id)`` starts the migrate job of a tenant whose reconcile found
        environments to move (the lifecycle service's request; it returns the job running)."""
        self.engine = engine
        self.deployment = deployment  # the tenants it reconciles (a single-tenant instance's)
        self.purges = purges
        self._migrations = migrations
        self.migrator = migrator
        self.provisioners = provisioners
        self.layout = layout or Layout()
        self.clock = clock
        self._sessions = session_factory(engine)
        self._locks: dict[str, asyncio.Lock] = {}

    async def due(self) -> list[str]:
        async with translated(), self._sessions() as session:
            return self.deployment.served(await repository.due(session))

    async def everyone(self) -> list[str]:
        async with translated(), self._sessions() as session:
            return self.deployment.served(await repository.all_ids(session))

    async def reconcile(self, tenant_id: str, *, for_job: bool = False) -> Outcome:
        """Bring one tenant's resources in line with its spec (one reconcile per tenant at once).

        Only states the lifecycle lets the controller reconcile are; a lifecycle job
        (``for_job``, e.g. a restore) provisions a tenant in any state, leaving its state alone.
        """
        self.deployment.check(tenant_id)
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock, translated(), repository.lease(self.engine, tenant_id) as held:
            if not held:
                return Outcome(
                    tenant_id, Result.SKIPPED, message="another worker is reconciling it"
                )
            outcome = await self._reconcile(tenant_id, for_job=for_job)
        if outcome.moves and not for_job and self._migrations is not None:
            try:
                await self._migrations(tenant_id)
            except TenantryError as error:  # e.g. another job runs: the next resync asks again
                log.warning(
                    "controller.migration_not_started", tenant_id=tenant_id, error=error.message
                )
        return outcome

    async def _reconcile(self, tenant_id: str, *, for_job: bool) -> Outcome:
        async with self._sessions() as session:
            desired = await repository.load(session, tenant_id)
        if desired is None:
            raise TenantNotFound(tenant_id)
        if not for_job and not lifecycle.may_reconcile(desired.lifecycle_state):
            message = f"{desired.lifecycle_state}: its lifecycle job owns it"
            return Outcome(tenant_id, Result.SKIPPED, message=message)
        decision: Decision | None = None
        try:
            profile = Profile(desired.profile)
            decision = await self._decide(tenant_id, profile, desired.environments, desired)
            await self._begin(desired, decision)
            await self._execute(tenant_id, decision.steps)
            await self._migrate(decision.placements)
        except TenantryError as error:
            result = Result.DEGRADED if error.kind.transient else Result.FAILED
            return await self._settle(desired, result, decision, error.message)
        except Exception as error:  # a controller outlives surprises: retry them as transient
            log.exception("controller.unexpected_error", tenant_id=tenant_id)
            message = f"unexpected error: {error}"
            return await self._settle(desired, Result.DEGRADED, decision, message)
        return await self._settle(desired, Result.READY, decision, _ready_message(decision))

    async def held(self, tenant_id: str) -> Held:
        """What the tenant holds, read once no reconcile of it runs (a purge's inventory: a
        reconcile that began before its tenant was deleted has ended, later ones skip it)."""
        async with self._leased(tenant_id), self._sessions() as session:
            stored = await repository.load(session, tenant_id)
        if stored is None:
            raise TenantNotFound(tenant_id)
        placements = self._placed(tenant_id, stored)
        return Held(placements, stored.owned, stored.orphaned, stored.environments)

    async def forget(self, tenant_id: str, resources: Sequence[Resource]) -> None:
        """Drop purged resources from the tenant's records, and from its ``Orphaned``
        condition (under its reconcile lease, so no reconcile writes them back)."""
        gone = set(resources)
        async with self._leased(tenant_id), self._sessions() as session, session.begin():
            stored = await repository.load(session, tenant_id)
            if stored is None:
                return
            orphaned = {r: why for r, why in stored.orphaned.items() if r not in gone}
            now = self.clock()
            kept = [c for c in stored.conditions if c.type == "MigrationRequired"]
            held = conditions.held(stored.conditions, orphaned, (), now=now)
            updated = [c for c in held if c.type != "MigrationRequired"] + kept
            updated.sort(key=lambda c: c.type)
            await repository.write_status(
                session,
                tenant_id,
                conditions=updated,
                now=now,
                owned=[r for r in stored.owned if r not in gone],
                orphaned=orphaned,
            )

    @asynccontextmanager
    async def _leased(self, tenant_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock, translated(), repository.lease(self.engine, tenant_id) as held:
            if not held:
                raise TenantBusy(f"tenant {tenant_id!r} is being reconciled; try again")
            yield

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
        return (await self._decide(tenant_id, profile, environments, stored)).steps

    async def close(self) -> None:
        """Release the provisioners' connections."""
        for provisioner in self.provisioners:
            await provisioner.close()

    def _provisioner(self, kind: Kind) -> Provisioner:
        return next(p for p in self.provisioners if p.kind is kind)

    def _wanted(self, placement: Placement) -> set[Resource]:
        return {r for p in self.provisioners if (r := p.wanted(placement)) is not None}

    async def _decide(
        self,
        tenant_id: str,
        profile: Profile,
        environments: list[str],
        stored: repository.Desired | None,
    ) -> Decision:
        """Serve each environment from its stored placement (a new one from its profile's),
        observe what exists, and plan: only ensures, keeps and orphans."""
        targets = [place(profile, tenant_id, env, self.layout) for env in environments]
        placements, moves = serving(targets, self._placed(tenant_id, stored))
        wanted = {r for p in placements for r in self._wanted(p)}
        existing = {r for r in wanted if await self._provisioner(r.kind).exists(r)}
        kept = {r: m for m in moves for r in self._wanted(m.current) if r.env_id is not None}
        owned = sorted({*(stored.owned if stored is not None else []), *wanted})
        orphaned = orphans(owned, wanted, set(environments))
        steps = plan(
            wanted,
            existing,
            owned,
            environments=set(environments),
            orphaned=set(stored.orphaned) if stored is not None else set(),
            moves=kept,
        )
        return Decision(placements, moves, steps, owned, orphaned)

    def _placed(self, tenant_id: str, stored: repository.Desired | None) -> dict[str, Placement]:
        """The stored placements and, for each removed environment whose resources are still
        orphaned, the placement they belong to: added back, it serves from them again."""
        if stored is None:
            return {}
        placed = dict(stored.placements)
        removed = {r for r, why in stored.orphaned.items() if why is Reason.ENVIRONMENT_REMOVED}
        for env in sorted({r.env_id for r in removed if r.env_id} - set(placed)):
            left = {r for r in removed if r.env_id == env}
            candidates = [place(p, tenant_id, env, self.layout) for p in Profile]
            found = recovered(left, [(c, self._env_wanted(c)) for c in candidates])
            if found is not None:
                placed[env] = found
        return placed

    def _env_wanted(self, placement: Placement) -> set[Resource]:
        """The resources of the placement's own environment (none if no backend can hold it)."""
        try:
            return {r for r in self._wanted(placement) if r.env_id is not None}
        except TenantryError:  # e.g. st-byoc on the embedded default
            return set()

    async def _begin(self, desired: repository.Desired, decision: Decision) -> None:
        """Mark the tenant provisioning and record, before acting, every resource about to be
        created as owned (and every newly orphaned one as such): a process killed at any later
        point leaves no unrecorded resource behind."""
        acting = [s for s in decision.steps if s.acts]
        if not acting:
            return
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
                message=f"{len(acting)} step(s)",
                now=now,
            )
            await repository.write_status(
                session,
                desired.tenant_id,
                conditions=marked,
                now=now,
                lifecycle_state=state,
                owned=decision.owned,
                orphaned=decision.orphaned,
            )
            await self._schedule_purges(session, desired.tenant_id, decision.steps)
            await audit.acting(session, desired.tenant_id, acting, now=now)

    async def _schedule_purges(
        self, session: AsyncSession, tenant_id: str, steps: Sequence[Step]
    ) -> None:
        """Schedule the purge of each environment this reconcile orphans (after retention)."""
        if self.purges is None:
            return
        for env in holdings.removed(steps):
            await self.purges.request_in(
                session, JobKind.DELETE, tenant_id, actor=holdings.PURGE_ACTOR, options={"env": env}
            )

    async def _cancel_purges(
        self, session: AsyncSession, desired: repository.Desired, ready: Decision
    ) -> None:
        """Cancel the scheduled purge of each removed environment served again."""
        if self.purges is None:
            return
        for env in holdings.returned(desired.orphaned, ready.placements):
            try:
                await self.purges.cancel_delete_in(session, desired.tenant_id, env)
            except TenantryError as error:  # its purge has begun: it cannot be called back
                tenant_id, message = desired.tenant_id, error.message
                log.warning("controller.purge_running", tenant_id=tenant_id, env=env, error=message)

    async def _execute(self, tenant_id: str, steps: list[Step]) -> None:
        """Run the ensures; keeps and orphans leave their resource as it is (never retire)."""
        for step in steps:
            if step.verb is Verb.ENSURE:
                await self._provisioner(step.resource.kind).ensure(step.resource)
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
        result: Result,
        decision: Decision | None,
        message: str,
    ) -> Outcome:
        """Write the outcome. Only a ready reconcile stores placements and holdings; the
        generation counts as observed unless the error is transient (then it is retried)."""
        now = self.clock()
        settled = conditions.settle(desired.conditions, result, message, now=now)
        if decision is not None:
            settled = conditions.held(settled, decision.orphaned, decision.moves, now=now)
        ready = decision if result is Result.READY else None
        state = (
            LifecycleState.ACTIVE.value
            if ready is not None and desired.lifecycle_state in _SETTLED_STATES
            else None
        )
        async with self._sessions() as session, session.begin():
            await repository.write_status(
                session,
                desired.tenant_id,
                conditions=settled,
                now=now,
                observed_generation=None if result is Result.DEGRADED else desired.generation,
                placement=None
                if ready is None
                else {p.env_id: p.as_dict() for p in ready.placements},
                lifecycle_state=state,
                owned=None if ready is None else ready.owned,
                orphaned=None if ready is None else ready.orphaned,
            )
            if ready is not None:
                await self._cancel_purges(session, desired, ready)
            elif decision is not None:
                await audit.failed(session, desired.tenant_id, decision.steps, message, now=now)
            if ready is not None and state is not None:  # ready for the first time
                envs = [p.env_id for p in ready.placements]
                event = provisioned(
                    desired.tenant_id, generation=desired.generation, environments=envs
                )
                await emit(session, event, now=now)
        steps = tuple(str(s) for s in decision.steps) if decision is not None else ()
        moves = tuple(str(m) for m in ready.moves) if ready is not None else ()
        return Outcome(desired.tenant_id, result, steps, message, moves)


def _ready_message(decision: Decision) -> str:
    if not decision.moves:
        return "all resources exist"
    return f"all resources exist; {len(decision.moves)} environment(s) await a migration"

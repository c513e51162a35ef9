"""Registry use cases: plan and apply bundles, read tenants, check the database.

Applying is one transaction: the plan is computed from the rows read inside it, then created
tenants are inserted, changed ones get their new spec and a bumped generation, and pruned ones
get their delete job (``deleting`` at once, the purge after retention), in that transaction. A
tenant marked for deletion that the bundle holds again has its delete cancelled, unless its
purge has begun (then the apply is refused). A bundle that changes nothing writes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core import ids
from tenantry.core.clock import Clock, utc_now
from tenantry.tenancy.lifecycle.service import LifecycleService
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.manifests.schemas import Bundle
from tenantry.tenancy.registry import plan as planning
from tenantry.tenancy.registry import repository, views
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import TenantNotFound, translated
from tenantry.tenancy.registry.schemas import Condition, TenantDetail, TenantSummary

PRUNE_ACTOR = "apply --prune"  # who requests the delete of a pruned tenant


class RegistryService:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        clock: Clock = utc_now,
        lifecycle: LifecycleService | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._lifecycle = lifecycle or LifecycleService(sessions, clock=clock)

    async def plan(self, bundle: Bundle, *, prune: bool = False) -> planning.Plan:
        """What :meth:`apply` would change, without writing."""
        async with translated(), self._sessions() as session:
            return await _plan(session, _desired(bundle), prune=prune)

    async def apply(
        self, bundle: Bundle, *, prune: bool = False, source: str = ""
    ) -> planning.Plan:
        """Store the bundle as the desired state, in one transaction; return what changed."""
        async with translated(), self._sessions() as session, session.begin():
            await repository.lock_for_apply(session)
            desired = _desired(bundle)
            result = await _plan(session, desired, prune=prune)
            if result.has_changes:
                await self._write(session, bundle, result)
                repository.record_apply(
                    session,
                    digest=planning.spec_hash(desired),
                    source=source,
                    summary={action.value: result.count(action) for action in planning.Action},
                    bundle=desired,
                    now=self._clock(),
                )
        return result

    async def _write(self, session: AsyncSession, bundle: Bundle, result: planning.Plan) -> None:
        now = self._clock()
        for change in result.changes:
            tenant_id, spec = change.tenant_id, bundle.tenants.get(change.tenant_id)
            if change.action is planning.Action.REMOVED:
                await self._lifecycle.request_in(
                    session, JobKind.DELETE, tenant_id, actor=PRUNE_ACTOR
                )
                continue
            if spec is None or change.action is planning.Action.UNCHANGED:
                continue
            if change.action is planning.Action.CHANGED:
                await self._lifecycle.cancel_delete_in(session, tenant_id)
            if change.action is planning.Action.CREATED:
                repository.add_tenant(
                    session,
                    tenant_id,
                    spec,
                    state=LifecycleState.PENDING.value,
                    conditions=[_awaiting(now)],
                    now=now,
                )
                await session.flush()
            else:
                await repository.update_spec(
                    session, tenant_id, spec, generation=change.generation, now=now
                )
            await repository.replace_projections(session, tenant_id, spec)
            await repository.add_flow_versions(
                session, tenant_id, list(spec.flows.values()), now=now
            )

    async def list(self) -> list[TenantSummary]:
        async with translated(), self._sessions() as session:
            rows = await repository.tenant_rows(session)
            envs = await repository.environments_by_tenant(session)
            teams = await repository.teams_by_tenant(session)
        return [views.summary(row, envs.get(row.id, []), teams.get(row.id, [])) for row in rows]

    async def get(self, tenant_id: str) -> TenantDetail:
        ids.tenant_id(tenant_id)
        async with translated(), self._sessions() as session:
            rows = await repository.tenant_rows(session, [tenant_id])
            if not rows:
                raise TenantNotFound(tenant_id)
            envs = await repository.environments_by_tenant(session, [tenant_id])
            teams = await repository.teams_by_tenant(session, [tenant_id])
            channels = await repository.channels_of(session, tenant_id)
        return views.detail(rows[0], envs.get(tenant_id, []), teams.get(tenant_id, []), channels)

    async def ping(self) -> None:
        """Raise :class:`ControlDatabaseUnavailable` unless the control database answers."""
        async with translated(), self._sessions() as session:
            await repository.ping(session)


async def _plan(
    session: AsyncSession, desired: dict[str, dict[str, Any]], *, prune: bool
) -> planning.Plan:
    """Plan on spec hashes; read the stored specs of changed tenants only, for their diffs."""
    stored = await repository.stored_state(session)
    result = planning.plan(desired, stored, prune=prune)
    changed = [c.tenant_id for c in result.changes if c.action is planning.Action.CHANGED]
    if not changed:
        return result
    specs = await repository.stored_specs(session, changed)
    stored |= {tid: replace(stored[tid], spec=specs[tid]) for tid in changed}
    return planning.plan(desired, stored, prune=prune)


def _desired(bundle: Bundle) -> dict[str, dict[str, Any]]:
    return {tenant_id: spec.model_dump(mode="json") for tenant_id, spec in bundle.tenants.items()}


def _awaiting(now: Any) -> dict[str, Any]:
    condition = Condition(
        type="Ready",
        status="Unknown",
        reason="AwaitingReconcile",
        message="stored; waiting for the controller",
        last_transition_time=now,
    )
    return condition.model_dump(mode="json")

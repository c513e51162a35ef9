"""Writing planned tenant changes: the one path of ``apply``, ``POST`` and ``PUT``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.events.announcements import stored
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.lifecycle.service import LifecycleService
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.manifests.schemas import TenantSpec
from tenantry.tenancy.registry import plan as planning
from tenantry.tenancy.registry import repository
from tenantry.tenancy.registry.schemas import Condition, Source

PRUNE_ACTOR = "apply --prune"  # who requests the delete of a pruned tenant


async def store(
    lifecycle: LifecycleService,
    session: AsyncSession,
    specs: Mapping[str, TenantSpec],
    result: planning.Plan,
    *,
    now: datetime,
    source: Source,
    request: str | None = None,
) -> None:
    """Insert created tenants (``source`` and ``request`` recorded with them), store changed
    specs with their new generation (cancelling the delete of one being deleted), and request
    the delete of removed tenants, all in ``session``'s transaction."""
    for change in result.changes:
        tenant_id, spec = change.tenant_id, specs.get(change.tenant_id)
        if change.action is planning.Action.REMOVED:
            await lifecycle.request_in(session, JobKind.DELETE, tenant_id, actor=PRUNE_ACTOR)
            continue
        if spec is None or change.action is planning.Action.UNCHANGED:
            continue
        if change.action is planning.Action.CHANGED:
            await lifecycle.cancel_delete_in(session, tenant_id)
        if change.action is planning.Action.CREATED:
            repository.add_tenant(
                session,
                tenant_id,
                spec,
                state=LifecycleState.PENDING.value,
                conditions=[_awaiting(now)],
                now=now,
                source=source,
                creation_request=request,
            )
            await session.flush()
        else:
            await repository.update_spec(
                session, tenant_id, spec, generation=change.generation, now=now
            )
        await repository.replace_projections(session, tenant_id, spec)
        await repository.add_flow_versions(session, tenant_id, list(spec.flows.values()), now=now)
        await session.flush()
        await repository.check_pinned(session, tenant_id, spec)
        event = stored(
            tenant_id,
            created=change.action is planning.Action.CREATED,
            generation=change.generation,
            source=source.value,
            changed=[c.path for c in change.changes],
        )
        await emit(session, event, now=now)


def _awaiting(now: Any) -> dict[str, Any]:
    condition = Condition(
        type="Ready",
        status="Unknown",
        reason="AwaitingReconcile",
        message="stored; waiting for the controller",
        last_transition_time=now,
    )
    return condition.model_dump(mode="json")

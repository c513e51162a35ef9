"""Writing planned tenant changes: the one path of ``apply``, ``POST`` and ``PUT``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.lifecycle.states import LifecycleState
from tenantry.tenancy.manifests.schemas import TenantSpec
from tenantry.tenancy.registry import plan as planning
from tenantry.tenancy.registry import repository
from tenantry.tenancy.registry.schemas import Condition, Source


async def store(
    session: AsyncSession,
    specs: Mapping[str, TenantSpec],
    result: planning.Plan,
    *,
    now: datetime,
    source: Source,
    request: str | None = None,
) -> None:
    """Insert created tenants (``source`` and ``request`` recorded with them), store changed
    specs with their new generation, and mark removed tenants for deletion."""
    for change in result.changes:
        tenant_id, spec = change.tenant_id, specs.get(change.tenant_id)
        if change.action is planning.Action.REMOVED:
            await repository.mark_for_deletion(session, tenant_id, now=now)
            continue
        if spec is None or change.action is planning.Action.UNCHANGED:
            continue
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


def _awaiting(now: Any) -> dict[str, Any]:
    condition = Condition(
        type="Ready",
        status="Unknown",
        reason="AwaitingReconcile",
        message="stored; waiting for the controller",
        last_transition_time=now,
    )
    return condition.model_dump(mode="json")

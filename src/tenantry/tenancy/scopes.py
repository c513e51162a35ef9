"""Opening a tenant scope: the registry says whether, the runtime backends say how.

:meth:`Scopes.open` reads the tenant's lifecycle state and stored placement in one indexed query
on every call (so a suspension takes effect at once), refuses tenants that may not run, and asks
the configured :class:`Runtime` (built by ``bootstrap``) to bind its stores to the placement.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.core.context import TenantCtx
from tenantry.core.errors import Conflict, Forbidden, NotFound
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.registry.errors import TenantNotFound, translated
from tenantry.tenancy.registry.models import TenantRow
from tenantry.tenancy.registry.schemas import LifecycleState

# Tenants whose runtime may be used; the others are refused with the reason below.
_OPEN = {LifecycleState.ACTIVE.value, LifecycleState.MIGRATING.value}
_CLOSED = {
    LifecycleState.SUSPENDED.value: "is suspended",
    LifecycleState.ARCHIVED.value: "is archived",
    LifecycleState.DELETED.value: "is deleted",
}


class TenantUnavailable(Forbidden):
    code = "tenant.unavailable"


class TenantNotReady(Conflict):
    code = "tenant.not_ready"


class EnvironmentNotFound(NotFound):
    code = "environment.not_found"


class Runtime(Protocol):
    """The configured runtime backends, bound per tenant environment."""

    def bind(self, ctx: TenantCtx, placement: Placement) -> TenantScope: ...


class Scopes:
    def __init__(self, engine: AsyncEngine, runtime: Runtime) -> None:
        self._engine, self._runtime = engine, runtime

    async def open(self, ctx: TenantCtx) -> TenantScope:
        """The scope of ``ctx``'s tenant environment, if that tenant may run now."""
        query = select(
            TenantRow.lifecycle_state, TenantRow.placement, TenantRow.deletion_requested_at
        ).where(TenantRow.id == ctx.tenant_id)
        async with translated(), self._engine.connect() as connection:  # Core: no ORM session
            row = (await connection.execute(query)).one_or_none()
        if row is None:
            raise TenantNotFound(ctx.tenant_id)
        state, placements, deleting = row
        _check_state(ctx, state, deleting is not None)
        return self._runtime.bind(ctx, _placement(ctx, placements))


def _check_state(ctx: TenantCtx, state: str, deleting: bool) -> None:
    if deleting or state in _CLOSED:
        reason = "is marked for deletion" if deleting else _CLOSED[state]
        raise TenantUnavailable(
            f"tenant {ctx.tenant_id!r} {reason}: its runtime cannot be used",
            details={"tenant_id": ctx.tenant_id, "lifecycle_state": state},
        )
    if state not in _OPEN:
        raise TenantNotReady(
            f"tenant {ctx.tenant_id!r} is {state}: reconcile it before using its runtime",
            details={"tenant_id": ctx.tenant_id, "lifecycle_state": state},
        )


def _placement(ctx: TenantCtx, placements: dict[str, Any] | None) -> Placement:
    stored = (placements or {}).get(ctx.env_id)
    if stored is None:
        raise EnvironmentNotFound(
            f"tenant {ctx.tenant_id!r} has no provisioned environment {ctx.env_id!r}",
            details={"tenant_id": ctx.tenant_id, "env_id": ctx.env_id},
        )
    return Placement.from_dict(stored)

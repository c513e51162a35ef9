"""Opening a tenant scope: the registry says whether, the runtime backends say how.

:meth:`Scopes.open` reads the tenant's lifecycle state and stored placement with one indexed
query on every call (so a suspension takes effect at once), refuses tenants that may not run, and
asks the configured :class:`Runtime` (built by ``bootstrap``) to bind its stores to the placement.

The query is a :class:`TenantLookup` on the control database's own driver (``backends``): it is on
the path of every tenant request, where an ORM round trip would cost more than the request's own
work. Bound stores depend only on the tenant environment and its placement, so they are kept
per stored placement (a bounded cache) and only the context is stamped anew on each open.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Final, Protocol

from tenantry.core.context import TenantCtx
from tenantry.core.errors import Conflict, Forbidden, NotFound
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.registry.errors import TenantNotFound
from tenantry.tenancy.registry.schemas import LifecycleState

# The columns a lookup reads, in this order: lifecycle state, placements (JSON text), and
# whether a deletion was requested.
STATUS_QUERY: Final = (
    "SELECT lifecycle_state, {placement}, deletion_requested_at IS NOT NULL"
    " FROM tenants WHERE id = {param}"
)
BOUND_SCOPES: Final = 1024  # tenant environments whose bound stores are kept

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


@dataclasses.dataclass(frozen=True, slots=True)
class TenantStatus:
    """What the registry says of a tenant when its scope is opened."""

    lifecycle_state: str
    placements: str | None  # the stored placements by environment, as JSON text
    deleting: bool


class TenantLookup(Protocol):
    """One indexed read of a tenant's status (``STATUS_QUERY``) on the control database."""

    async def status(self, tenant_id: str) -> TenantStatus | None: ...

    async def close(self) -> None: ...


class Scopes:
    def __init__(self, lookup: TenantLookup, runtime: Runtime, *, keep: int = BOUND_SCOPES) -> None:
        self._lookup, self._runtime, self._keep = lookup, runtime, keep
        self._bound: dict[tuple[str, str, str], TenantScope] = {}

    async def open(self, ctx: TenantCtx) -> TenantScope:
        """The scope of ``ctx``'s tenant environment, if that tenant may run now."""
        status = await self._lookup.status(ctx.tenant_id)
        if status is None:
            raise TenantNotFound(ctx.tenant_id)
        _check_state(ctx, status.lifecycle_state, status.deleting)
        key = (ctx.tenant_id, ctx.env_id, status.placements or "")
        scope = self._bound.get(key)
        if scope is None:
            scope = self._runtime.bind(ctx, _placement(ctx, status.placements))
            self._remember(key, scope)
        return scope if scope.ctx == ctx else dataclasses.replace(scope, ctx=ctx)

    def _remember(self, key: tuple[str, str, str], scope: TenantScope) -> None:
        if len(self._bound) >= self._keep:
            del self._bound[next(iter(self._bound))]  # the oldest binding
        self._bound[key] = scope

    async def close(self) -> None:
        await self._lookup.close()


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


def _placement(ctx: TenantCtx, placements: str | None) -> Placement:
    parsed: dict[str, Any] | None = json.loads(placements) if placements else None
    stored = (parsed or {}).get(ctx.env_id)
    if stored is None:
        raise EnvironmentNotFound(
            f"tenant {ctx.tenant_id!r} has no provisioned environment {ctx.env_id!r}",
            details={"tenant_id": ctx.tenant_id, "env_id": ctx.env_id},
        )
    return Placement.from_dict(stored)

"""Whether access may be granted for a tenant (and team), decided from its registry standing."""

from __future__ import annotations

from typing import Final

from tenantry.core.errors import TenantryError
from tenantry.tenancy.access.errors import TeamNotFound
from tenantry.tenancy.access.repository import Standing
from tenantry.tenancy.registry.errors import TenantNotFound
from tenantry.tenancy.registry.schemas import LifecycleState
from tenantry.tenancy.scopes import TenantUnavailable

CLOSED: Final = frozenset(
    {LifecycleState.SUSPENDED, LifecycleState.ARCHIVED, LifecycleState.DELETED}
)


def refusal(tenant: str, team: str | None, standing: Standing | None) -> TenantryError | None:
    """Unknown, suspended, archived, deleted and deleting tenants, unknown teams: refused."""
    if standing is None:
        return TenantNotFound(tenant)
    if standing.deleting or standing.lifecycle_state in CLOSED:
        reason = "marked for deletion" if standing.deleting else standing.lifecycle_state
        return TenantUnavailable(
            f"tenant {tenant!r} is {reason}: no access can be granted",
            details={"tenant_id": tenant, "lifecycle_state": standing.lifecycle_state},
        )
    if not standing.team_found:
        return TeamNotFound(
            f"tenant {tenant!r} has no team {team!r}",
            details={"tenant_id": tenant, "team_id": team},
        )
    return None

"""Whether access may be granted for a tenant (and team), decided from its registry standing
by the lifecycle's one serving rule."""

from __future__ import annotations

from tenantry.core.errors import TenantryError
from tenantry.tenancy.access.errors import TeamNotFound
from tenantry.tenancy.access.repository import Standing
from tenantry.tenancy.lifecycle import states as lifecycle
from tenantry.tenancy.registry.errors import TenantNotFound


def refusal(tenant: str, team: str | None, standing: Standing | None) -> TenantryError | None:
    """Unknown tenants, tenants their lifecycle state keeps from serving, unknown teams."""
    if standing is None:
        return TenantNotFound(tenant)
    refused = lifecycle.refusal(tenant, standing.lifecycle_state, granting=True)
    if refused is not None:
        return refused
    if not standing.team_found:
        return TeamNotFound(
            f"tenant {tenant!r} has no team {team!r}",
            details={"tenant_id": tenant, "team_id": team},
        )
    return None

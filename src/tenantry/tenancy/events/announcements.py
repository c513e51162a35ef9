"""The events of registry and controller changes, built from what those changes know (the
correlation id is the request's or job's bound one)."""

from __future__ import annotations

from collections.abc import Sequence

from tenantry.core.logging import current_correlation
from tenantry.tenancy.events.schemas import Event, EventType


def stored(
    tenant_id: str, *, created: bool, generation: int, source: str, changed: Sequence[str]
) -> Event:
    """``tenancy.tenant.created`` or ``.updated``: a spec stored by an apply, create or replace."""
    kind = EventType.TENANT_CREATED if created else EventType.TENANT_UPDATED
    data = {"generation": generation, "source": source, "changed": list(changed)}
    return Event(kind, tenant_id, data, correlation_id=current_correlation())


def provisioned(tenant_id: str, *, generation: int, environments: Sequence[str]) -> Event:
    """``tenancy.tenant.provisioned``: every resource of the tenant ready, the first time."""
    data = {"generation": generation, "environments": sorted(environments)}
    return Event(
        EventType.TENANT_PROVISIONED, tenant_id, data, correlation_id=current_correlation()
    )

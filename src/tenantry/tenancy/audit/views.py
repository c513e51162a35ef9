"""What a tenant's admins may see of their chain's records, decided purely.

Of an attempt against their tenant by another tenant's principal they see that it happened,
when, on which route (its template, not the path sent) and with what outcome: never the
principal, its credential, its grants or the names it sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tenantry.tenancy.audit.schemas import AuditItem

FOREIGN: Final = "(another tenant's principal)"
# Details that describe the caller, not the tenant: the platform's chain view keeps them.
_CALLER_DETAILS: Final = frozenset(
    {"credential", "granted_tenants", "selected_tenant", "selected_team", "client_address"}
)


def for_tenant(item: AuditItem, tenant: str) -> AuditItem:
    """``item`` as ``tenant``'s admins see it."""
    details = {k: v for k, v in item.details.items() if k not in _CALLER_DETAILS}
    if not is_foreign(item.details, tenant):
        return item.model_copy(update={"details": details})
    return item.model_copy(
        update={
            "actor": FOREIGN,
            "credential_id": None,
            "user": None,
            "team_id": None,
            "target": _route(details),  # the route, never the path the other tenant sent
            "details": {"reason": details["reason"]} if "reason" in details else {},
        }
    )


def _route(details: Mapping[str, Any]) -> str | None:
    route = details.get("route")
    return route if isinstance(route, str) else None


def is_foreign(details: Mapping[str, Any], tenant: str) -> bool:
    """A record of a caller whose grants do not hold ``tenant`` (a cross-tenant attempt)."""
    granted = details.get("granted_tenants")
    return isinstance(granted, list) and tenant not in granted

"""What a tenant's admins may see of their chain's records, decided purely.

Of an attempt against their tenant by another tenant's principal they see that it happened,
when, on which route and with what outcome: never the principal, its credential or its grants.
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
            "details": {"reason": details["reason"]} if "reason" in details else {},
        }
    )


def is_foreign(details: Mapping[str, Any], tenant: str) -> bool:
    """A record of a caller whose grants do not hold ``tenant`` (a cross-tenant attempt)."""
    granted = details.get("granted_tenants")
    return isinstance(granted, list) and tenant not in granted

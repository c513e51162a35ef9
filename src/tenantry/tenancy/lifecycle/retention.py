"""How long a deleted tenant's data is kept before the purge: the one answer the delete job reads.

Today it is the plan's ``retention.purge_after`` (30 days unless the plan or the tenant's
``limits:`` say otherwise); retention policies, when they come, take precedence here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tenantry.tenancy.limits.catalog import resolve
from tenantry.tenancy.limits.plans import Limits


def purge_after(limits: Limits) -> timedelta:
    """The time from a delete request to the purge, for a tenant with these effective limits."""
    return limits.purge_after


def purge_after_of_spec(spec: dict[str, Any]) -> timedelta:
    """:func:`purge_after` of a stored tenant spec (its ``limits``, else the plan defaults)."""
    return purge_after(resolve(spec.get("limits")))

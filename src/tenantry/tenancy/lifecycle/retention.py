"""How long a tenant's data is kept: the one answer the lifecycle jobs read.

The purge of a deleted tenant waits its plan's ``retention.purge_after`` (30 days unless the
plan or the tenant's ``limits:`` say otherwise), and never less than its policy's
``retention.purge_after``: a policy sets the least time data is kept, so the longer one wins.
A policy's ``audit`` and ``archive`` periods are read here too (None: the policy sets none).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tenantry.tenancy.limits.catalog import resolve
from tenantry.tenancy.limits.plans import Limits
from tenantry.tenancy.policy.schemas import RetentionSpec


def purge_after(limits: Limits, policy: RetentionSpec | None = None) -> timedelta:
    """The time from a delete request to the purge, for a tenant with these effective limits
    held to ``policy``'s retention."""
    least = _period(policy.purge_after if policy else None)
    return max(limits.purge_after, least or timedelta(0))


def purge_after_of_spec(spec: dict[str, Any], policy: RetentionSpec | None = None) -> timedelta:
    """:func:`purge_after` of a stored tenant spec (its ``limits``, else the plan defaults)."""
    return purge_after(resolve(spec.get("limits")), policy)


def audit_retention(policy: RetentionSpec | None) -> timedelta | None:
    """How long the tenant's audit records are kept at least (None: no policy says)."""
    return _period(policy.audit if policy else None)


def archive_retention(policy: RetentionSpec | None) -> timedelta | None:
    """How long an archive is kept before its tenant may be deleted (None: no policy says)."""
    return _period(policy.archive if policy else None)


def _period(seconds: int | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)

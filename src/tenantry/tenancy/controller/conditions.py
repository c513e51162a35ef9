"""Status conditions: set one, keep its transition time when its status did not change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tenantry.tenancy.registry.schemas import Condition, ConditionStatus, ConditionType


def put(
    conditions: Sequence[Condition],
    kind: ConditionType,
    status: ConditionStatus,
    *,
    reason: str,
    message: str,
    now: datetime,
) -> list[Condition]:
    old = next((c for c in conditions if c.type == kind), None)
    since = old.last_transition_time if old is not None and old.status == status else now
    new = Condition(
        type=kind, status=status, reason=reason, message=message, last_transition_time=since
    )
    return sorted([c for c in conditions if c.type != kind] + [new], key=lambda c: c.type)


def settle(
    conditions: Sequence[Condition], outcome: str, message: str, *, now: datetime
) -> list[Condition]:
    """The four conditions after a reconcile ended ``ready``, ``degraded`` or ``failed``."""
    ready = outcome == "ready"
    result = put(
        conditions,
        "Ready",
        "True" if ready else "False",
        reason="Reconciled" if ready else outcome.capitalize(),
        message=message,
        now=now,
    )
    result = put(result, "Provisioning", "False", reason="Idle", message="", now=now)
    result = put(
        result,
        "Degraded",
        "True" if outcome == "degraded" else "False",
        reason="TransientError" if outcome == "degraded" else "Healthy",
        message=message if outcome == "degraded" else "",
        now=now,
    )
    return put(
        result,
        "Failed",
        "True" if outcome == "failed" else "False",
        reason="PermanentError" if outcome == "failed" else "Healthy",
        message=message if outcome == "failed" else "",
        now=now,
    )

"""Status conditions: set one, keep its transition time when its status did not change."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime

from tenantry.tenancy.controller.plan import Move
from tenantry.tenancy.controller.resources import Reason, Resource
from tenantry.tenancy.registry.schemas import Condition, ConditionStatus, ConditionType


class Result(enum.StrEnum):
    """How one reconcile of one tenant ended."""

    READY = "ready"
    DEGRADED = "degraded"  # a transient error: retried with backoff
    FAILED = "failed"  # a permanent error: waits for a spec change
    SKIPPED = "skipped"  # another worker holds the tenant, or it is marked for deletion


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
    conditions: Sequence[Condition], outcome: Result, message: str, *, now: datetime
) -> list[Condition]:
    """The four conditions after a reconcile ended ``ready``, ``degraded`` or ``failed``."""
    ready = outcome is Result.READY
    result = put(
        conditions,
        "Ready",
        "True" if ready else "False",
        reason="Reconciled" if ready else outcome.value.capitalize(),
        message=message,
        now=now,
    )
    result = put(result, "Provisioning", "False", reason="Idle", message="", now=now)
    result = put(
        result,
        "Degraded",
        "True" if outcome is Result.DEGRADED else "False",
        reason="TransientError" if outcome is Result.DEGRADED else "Healthy",
        message=message if outcome is Result.DEGRADED else "",
        now=now,
    )
    return put(
        result,
        "Failed",
        "True" if outcome is Result.FAILED else "False",
        reason="PermanentError" if outcome is Result.FAILED else "Healthy",
        message=message if outcome is Result.FAILED else "",
        now=now,
    )


def held(
    conditions: Sequence[Condition],
    orphaned: Mapping[Resource, Reason],
    moves: Sequence[Move],
    *,
    now: datetime,
) -> list[Condition]:
    """``Orphaned`` and ``MigrationRequired``: set while true, turned False once they clear
    (and left out for a tenant that never had them)."""
    result = list(conditions)
    if orphaned or any(c.type == "Orphaned" for c in result):
        listed = "; ".join(
            f"{r.kind.value} {r.name} ({r.env_id or '*'}, {why.describe})"
            for r, why in orphaned.items()
        )
        message = f"left in place for the lifecycle's purge: {listed}" if orphaned else ""
        reasons = "And".join(sorted({why.value for why in orphaned.values()})) or "NoneOrphaned"
        result = put(
            result, "Orphaned", _status(orphaned), reason=reasons, message=message, now=now
        )
    if moves or any(c.type == "MigrationRequired" for c in result):
        listed = "; ".join(str(m) for m in moves)
        message = f"serving on the stored placement until a migration moves {listed}"
        reason = Reason.PROFILE_CHANGED.value if moves else "PlacementCurrent"
        result = put(
            result,
            "MigrationRequired",
            _status(moves),
            reason=reason,
            message=message if moves else "",
            now=now,
        )
    return result


def _status(found: object) -> ConditionStatus:
    return "True" if found else "False"

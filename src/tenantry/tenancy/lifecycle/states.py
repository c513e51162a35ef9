"""The lifecycle states, the one transition table, and the one serving rule.

Nothing else in Tenantry restates which states may serve, be granted tokens or be reconciled:
``tenancy.scopes``, ``tenancy.access`` and the controller all ask :func:`refusal` and
:func:`may_reconcile`. The table is pure data: a job kind, the states it may start from, the
state the tenant enters when it is requested (if any) and the state it ends in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from tenantry.core.errors import Conflict, Gone, Locked, TenantryError


class LifecycleState(enum.StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARCHIVED = "archived"
    DELETING = "deleting"
    DELETED = "deleted"
    MIGRATING = "migrating"


class JobKind(enum.StrEnum):
    SUSPEND = "suspend"
    RESUME = "resume"
    ARCHIVE = "archive"
    RESTORE = "restore"
    DELETE = "delete"
    MIGRATE = "migrate"
    ROTATE_KEYS = "rotate-keys"


S = LifecycleState


@dataclass(frozen=True, slots=True)
class Transition:
    kind: JobKind
    allowed_from: frozenset[LifecycleState]
    entering: LifecycleState | None  # set when the job is requested, in the same transaction
    final: LifecycleState | None  # set when the job succeeds; None keeps the state it had


_EVERY_STATE_BUT_DELETED = frozenset(S) - {S.DELETED}
TABLE: Final[dict[JobKind, Transition]] = {
    t.kind: t
    for t in (
        Transition(JobKind.SUSPEND, frozenset({S.ACTIVE, S.MIGRATING}), S.SUSPENDED, S.SUSPENDED),
        Transition(JobKind.RESUME, frozenset({S.SUSPENDED}), None, S.ACTIVE),
        Transition(JobKind.ARCHIVE, frozenset({S.ACTIVE, S.SUSPENDED}), S.SUSPENDED, S.ARCHIVED),
        Transition(JobKind.RESTORE, frozenset({S.ARCHIVED}), None, S.ACTIVE),
        Transition(JobKind.DELETE, _EVERY_STATE_BUT_DELETED, S.DELETING, S.DELETED),
        Transition(JobKind.MIGRATE, frozenset({S.ACTIVE}), S.MIGRATING, S.ACTIVE),
        Transition(JobKind.ROTATE_KEYS, frozenset({S.ACTIVE, S.SUSPENDED, S.ARCHIVED}), None, None),
    )
}
# Jobs scoped to one environment (``options["env"]``): the purge of an environment removed from
# the manifest. It leaves the tenant's state as it is, so it enters none and ends in none.
SCOPED: Final[dict[JobKind, Transition]] = {
    JobKind.DELETE: Transition(JobKind.DELETE, _EVERY_STATE_BUT_DELETED, None, None),
}
# A job of these kinds may be preempted (cancelled) by a suspend requested while it runs.
PREEMPTED_BY_SUSPEND: Final = frozenset({JobKind.MIGRATE, JobKind.ARCHIVE})
_SERVING: Final = frozenset({S.ACTIVE, S.MIGRATING})
_GRANTED: Final = _SERVING | {S.PENDING, S.PROVISIONING}  # a token may precede provisioning
# A suspended tenant's provider messages are accepted and held (not processed) until resume.
_HOLDING: Final = _SERVING | {S.SUSPENDED}
RECONCILED: Final = frozenset({S.PENDING, S.PROVISIONING, S.ACTIVE})


class TransitionRefused(Conflict):
    code = "lifecycle.transition_refused"


class TenantSuspended(Locked):
    code = "tenant.suspended"


class TenantArchived(Locked):
    code = "tenant.archived"


class TenantDeleted(Gone):
    code = "tenant.deleted"


class TenantNotReady(Conflict):
    code = "tenant.not_ready"


def of_job(kind: JobKind, env_id: str | None = None) -> Transition:
    """The transition a job of ``kind`` carries out, tenant-wide or scoped to ``env_id``."""
    if env_id is None:
        return TABLE[kind]
    found = SCOPED.get(kind)
    if found is None:
        raise TransitionRefused(
            f"a {kind} job cannot be scoped to an environment",
            details={"kind": kind.value, "env_id": env_id},
        )
    return found


def transition(
    kind: JobKind, tenant_id: str, state: LifecycleState, env_id: str | None = None
) -> Transition:
    """The transition ``kind`` (scoped to ``env_id`` if given) from ``state``; 409 naming the
    state and the allowed ones."""
    found = of_job(kind, env_id)
    if state not in found.allowed_from:
        allowed = ", ".join(sorted(found.allowed_from))
        raise TransitionRefused(
            f"tenant {tenant_id!r} is {state}: {kind} is allowed only from {allowed}",
            details={
                "tenant_id": tenant_id,
                "lifecycle_state": state.value,
                "kind": kind.value,
                "allowed_from": sorted(found.allowed_from),
            },
        )
    return found


def refusal(
    tenant_id: str, state: LifecycleState | str, *, granting: bool = False, holding: bool = False
) -> TenantryError | None:
    """Why a tenant in ``state`` may not serve requests (or, ``granting``, be granted tokens
    and keys; or, ``holding``, have a verified provider message accepted and held); None when
    it may.

    Suspended and archived tenants are 423, deleting and deleted ones 410; tenants not yet
    provisioned may be granted credentials but not serve (409).
    """
    state = LifecycleState(state)
    if state in (_GRANTED if granting else _HOLDING if holding else _SERVING):
        return None
    details = {"tenant_id": tenant_id, "lifecycle_state": state.value}
    if state is S.SUSPENDED:
        return TenantSuspended(f"tenant {tenant_id!r} is suspended", details=details)
    if state is S.ARCHIVED:
        return TenantArchived(
            f"tenant {tenant_id!r} is archived: restore it to use it", details=details
        )
    if state in {S.DELETING, S.DELETED}:
        return TenantDeleted(f"tenant {tenant_id!r} is {state.value}", details=details)
    return TenantNotReady(
        f"tenant {tenant_id!r} is {state.value}: reconcile it before using it", details=details
    )


def may_reconcile(state: LifecycleState | str) -> bool:
    """Whether the controller may reconcile a tenant in ``state`` (jobs own the others)."""
    return LifecycleState(state) in RECONCILED

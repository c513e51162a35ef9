"""The policy checks: pure functions of a policy, a tenant's facts and what is about to happen.

Each check returns the violations it finds, each with a reason a person can act on. Taking a
tenant out of service (suspend, archive, delete) or fixing its keys (rotate-keys) is never
refused by residency or encryption: refusing those would keep a non-compliant tenant serving.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.policy.facts import CUSTOMER, Backend, Doing, Facts
from tenantry.tenancy.policy.schemas import (
    EncryptionSpec,
    PolicySpec,
    ResidencySpec,
    RetentionSpec,
)

UNRESTRICTED: Final = frozenset({JobKind.SUSPEND, JobKind.ARCHIVE, JobKind.DELETE})
ALWAYS_ALLOWED: Final = frozenset({JobKind.SUSPEND, JobKind.DELETE})  # whatever the plan says
UNKEYED_STATES: Final = frozenset({"pending", "provisioning"})  # its key is not made yet
ROTATE_KEYS_DUE: Final = "rotate-keys"


class Check(enum.StrEnum):
    RESIDENCY = "residency"
    ENCRYPTION = "encryption"
    RETENTION = "retention"
    PLAN = "plan"


@dataclass(frozen=True, slots=True)
class Violation:
    check: Check
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)


def evaluate(policy: PolicySpec | None, facts: Facts, doing: Doing) -> list[Violation]:
    """Every violation of ``policy`` (None: the tenant names none) and of its plan's allowances
    that ``doing`` would commit or carry on with. An environment's purge is none of them."""
    if doing.scoped:
        return []
    found = plan_violations(facts, doing)
    if policy is None:
        return found
    if policy.residency is not None and _restricted(doing):
        found += residency_violations(policy.residency, facts)
    if policy.encryption is not None and _restricted(doing):
        found += encryption_violations(policy.encryption, facts)
    if policy.retention is not None:
        found += retention_violations(policy.retention, facts, doing)
    return found


def _restricted(doing: Doing) -> bool:
    return doing.kind not in UNRESTRICTED and doing.kind is not JobKind.ROTATE_KEYS


def residency_violations(spec: ResidencySpec, facts: Facts) -> list[Violation]:
    """Each declared region and each backend region of the tenant's placement outside the
    allowed ones, a backend with no region, and a backend in another region than declared."""
    allowed = set(spec.regions)
    found: list[Violation] = []
    if facts.region is not None and facts.region not in allowed:
        found.append(_residency(f"tenant declares region {facts.region!r}", spec))
    for env_id, backends in sorted(facts.placed.items()):
        own = facts.env_regions.get(env_id)
        if own is not None and own not in allowed:
            found.append(_residency(f"environment {env_id!r} declares region {own!r}", spec))
        declared = own or facts.region
        for resource, backend in sorted(backends.items()):
            where = f"environment {env_id!r}: {resource.value} on {backend.name}"
            found += _backend_violations(where, backend, declared, spec)
    return found


def _backend_violations(
    where: str, backend: Backend, declared: str | None, spec: ResidencySpec
) -> list[Violation]:
    if backend.region is None:
        return [Violation(Check.RESIDENCY, f"{where}, which declares no region ({_fix(backend)})")]
    if backend.region not in spec.regions:
        return [_residency(f"{where} in region {backend.region!r}", spec)]
    if declared is not None and backend.region != declared:
        reason = f"{where} in region {backend.region!r}, not {declared!r} as declared"
        return [Violation(Check.RESIDENCY, reason)]
    return []


def _residency(what: str, spec: ResidencySpec) -> Violation:
    return Violation(Check.RESIDENCY, f"{what}; allowed: {', '.join(spec.regions)}")


def _fix(backend: Backend) -> str:
    if backend.name == CUSTOMER:
        return "declare the environment's or the tenant's region"
    return f"set TENANTRY_{backend.name.upper()}_REGION"


def encryption_violations(spec: EncryptionSpec, facts: Facts) -> list[Violation]:
    """No key of its own once provisioned; a key older than ``max_key_age`` (rotation due)."""
    keyed = facts.state is not None and facts.state not in UNKEYED_STATES
    if facts.key_created_at is None:
        if spec.tenant_key and keyed:
            return [Violation(Check.ENCRYPTION, "the tenant has no key of its own")]
        return []
    if spec.max_key_age is None:
        return []
    age = facts.now - facts.key_created_at
    limit = timedelta(seconds=spec.max_key_age)
    if age <= limit:
        return []
    reason = (
        f"the tenant's key is {_days(age)} old, over the policy's {_days(limit)}: a rotate-keys"
        f" is due (`tenantry rotate-keys {facts.tenant_id}`)"
    )
    details = {"due": ROTATE_KEYS_DUE, "key_age_seconds": int(age.total_seconds())}
    return [Violation(Check.ENCRYPTION, reason, details)]


def retention_violations(spec: RetentionSpec, facts: Facts, doing: Doing) -> list[Violation]:
    """At apply, limits that keep deleted data shorter than the policy; at a delete, a purge
    sooner than the policy's period, or of an archive younger than its ``archive`` period."""
    if doing.kind is None:
        return _shorter_purge(spec, facts)
    if doing.kind is not JobKind.DELETE:
        return []
    found: list[Violation] = []
    if doing.purge_now and spec.purge_after:
        found.append(
            Violation(
                Check.RETENTION,
                f"the policy keeps a deleted tenant's data {_days(_seconds(spec.purge_after))}"
                " before its purge: a delete --now is refused",
            )
        )
    if spec.archive and facts.state == "archived" and facts.archived_at is not None:
        kept = facts.now - facts.archived_at
        if kept < _seconds(spec.archive):
            found.append(
                Violation(
                    Check.RETENTION,
                    f"the archive is {_days(kept)} old; the policy keeps it"
                    f" {_days(_seconds(spec.archive))} before the tenant may be deleted",
                )
            )
    return found


def _shorter_purge(spec: RetentionSpec, facts: Facts) -> list[Violation]:
    stored = (facts.limits.get("retention") or {}).get("purge_after")
    if spec.purge_after is None or stored is None or stored >= spec.purge_after:
        return []
    reason = (
        f"limits retention.purge_after is {_days(_seconds(stored))}, shorter than the"
        f" policy's {_days(_seconds(spec.purge_after))}"
    )
    return [Violation(Check.RETENTION, reason)]


def plan_violations(facts: Facts, doing: Doing) -> list[Violation]:
    """A profile, a transition or a limit override the tenant's plan does not allow."""
    allows = facts.allows
    if allows is None:
        return []
    found: list[Violation] = []
    if allows.profiles is not None and facts.profile not in allows.profiles:
        named = ", ".join(allows.profiles)
        found.append(_plan(facts, f"profile {facts.profile!r} (allowed: {named})"))
    kind = doing.kind
    if kind is not None and _refused_transition(kind, allows.transitions):
        found.append(_plan(facts, f"a {kind.value} transition"))
    if kind is None and allows.overrides is not None:
        for name in overridden(facts.limits, facts.plan_limits):
            if name not in allows.overrides:
                found.append(_plan(facts, f"overriding the limit {name!r}"))
    return found


def _refused_transition(kind: JobKind, allowed: list[JobKind] | None) -> bool:
    return allowed is not None and kind not in ALWAYS_ALLOWED and kind not in allowed


def _plan(facts: Facts, what: str) -> Violation:
    return Violation(Check.PLAN, f"plan {facts.plan!r} does not allow {what}")


def overridden(limits: Mapping[str, Any], plan_limits: Mapping[str, Any]) -> list[str]:
    """The top-level limits a tenant's stored limits set otherwise than its plan."""
    return sorted(name for name in limits if limits[name] != plan_limits.get(name))


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


def _days(span: timedelta) -> str:
    days = span.total_seconds() / 86_400
    return f"{days:g} days" if days >= 1 else f"{int(span.total_seconds())} seconds"

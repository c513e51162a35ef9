"""What ``policies list`` and ``policies check`` show: stored policies, and one tenant's checks."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tenantry.tenancy.policy import checks
from tenantry.tenancy.policy.facts import Doing, Facts
from tenantry.tenancy.policy.models import PolicyRow
from tenantry.tenancy.policy.schemas import PolicySpec


class PolicyView(BaseModel):
    name: str
    spec: dict[str, Any]  # what the definition sets
    source: str  # the bundle that last defined it
    updated_at: datetime


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_SET = "not set"  # the policy has no such section (or the plan allows anything)


class CheckResult(BaseModel):
    check: checks.Check
    status: Status
    reasons: list[str]


class CheckReport(BaseModel):
    tenant_id: str
    policy: str | None
    plan: str
    passed: bool
    checks: list[CheckResult]
    due: list[str]  # jobs a check found due, such as "rotate-keys"


def view(row: PolicyRow) -> PolicyView:
    return PolicyView(name=row.name, spec=row.spec, source=row.source, updated_at=row.updated_at)


def report(name: str | None, policy: PolicySpec | None, facts: Facts) -> CheckReport:
    """Each check of ``policy`` and of the plan, as an apply of the stored spec would run it."""
    doing = Doing()
    results = [
        _result(checks.Check.PLAN, facts.allows is not None, checks.plan_violations(facts, doing))
    ]
    if policy is not None:
        residency, encryption, retention = policy.residency, policy.encryption, policy.retention
        found = checks.residency_violations(residency, facts) if residency else []
        results.append(_result(checks.Check.RESIDENCY, residency is not None, found))
        found = checks.encryption_violations(encryption, facts) if encryption else []
        results.append(_result(checks.Check.ENCRYPTION, encryption is not None, found))
        found = checks.retention_violations(retention, facts, doing) if retention else []
        results.append(_result(checks.Check.RETENTION, retention is not None, found))
    violations = checks.evaluate(policy, facts, doing)
    due = sorted({str(v.details["due"]) for v in violations if "due" in v.details})
    return CheckReport(
        tenant_id=facts.tenant_id,
        policy=name,
        plan=facts.plan,
        passed=not violations,
        checks=results,
        due=due,
    )


def _result(check: checks.Check, present: bool, found: list[checks.Violation]) -> CheckResult:
    if not present:
        return CheckResult(check=check, status=Status.NOT_SET, reasons=[])
    status = Status.FAILED if found else Status.PASSED
    return CheckResult(check=check, status=status, reasons=[v.reason for v in found])

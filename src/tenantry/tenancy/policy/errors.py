"""The refusal of a change a policy forbids (problem ``policy.violated``, 409, exit 4)."""

from __future__ import annotations

from collections.abc import Sequence

from tenantry.core.errors import Conflict, InvalidInput
from tenantry.tenancy.policy.checks import Violation


class PolicyViolated(Conflict):
    code = "policy.violated"

    def __init__(
        self, tenant_id: str, policy: str | None, action: str, violations: Sequence[Violation]
    ) -> None:
        named = f"policy {policy!r}" if policy else "its plan"
        reasons = "; ".join(f"{v.check.value}: {v.reason}" for v in violations)
        super().__init__(
            f"tenant {tenant_id!r}: {action} refused by {named}: {reasons}",
            details={
                "tenant_id": tenant_id,
                "policy": policy,
                "action": action,
                "violations": [
                    {"check": v.check.value, "reason": v.reason, **v.details} for v in violations
                ],
            },
        )
        self.tenant_id, self.policy, self.action = tenant_id, policy, action
        self.violations = tuple(violations)


class PolicyUnknown(InvalidInput):
    """A tenant names a policy no bundle defined (like an undefined plan)."""

    code = "policy.unknown"

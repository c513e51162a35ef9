"""The controller's worker task: reconcile due tenants, resync all now and then, back off.

Due tenants (a generation not yet observed) are reconciled each tick, a bounded number at once;
every ``resync_every`` ticks all tenants are, so drift is repaired (level-triggered). A tenant
left ``degraded`` waits a jittered, exponentially growing delay before its next attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenantry.core.clock import Clock
from tenantry.core.logging import get_logger
from tenantry.tenancy.controller.backoff import delay
from tenantry.tenancy.controller.service import Controller, Outcome, Result

log = get_logger(__name__)


@dataclass(slots=True)
class Reconciling:
    controller: Controller
    clock: Clock
    concurrency: int = 4
    resync_every: int = 10
    _ticks: int = 0
    _attempts: dict[str, int] = field(default_factory=dict)
    _not_before: dict[str, float] = field(default_factory=dict)

    async def tick(self) -> list[Outcome]:
        resync = self._ticks % self.resync_every == 0
        self._ticks += 1
        ids = await (self.controller.everyone() if resync else self.controller.due())
        now = self.clock().timestamp()
        ready = [t for t in ids if self._not_before.get(t, 0.0) <= now]
        outcomes = await self.controller.reconcile_many(ready, concurrency=self.concurrency)
        for outcome in outcomes:
            self._remember(outcome, now)
        return outcomes

    def _remember(self, outcome: Outcome, now: float) -> None:
        tenant = outcome.tenant_id
        if outcome.result is not Result.DEGRADED:
            self._attempts.pop(tenant, None)
            self._not_before.pop(tenant, None)
            return
        attempt = self._attempts.get(tenant, 0)
        self._attempts[tenant] = attempt + 1
        self._not_before[tenant] = now + delay(attempt, base=2.0, cap=300.0)
        log.warning(
            "controller.degraded", tenant_id=tenant, attempt=attempt + 1, error=outcome.message
        )

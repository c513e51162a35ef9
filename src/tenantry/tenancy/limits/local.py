"""In-process rate limiting: GCRA state in a dict, keyed (tenant, route class) or by a door key.

The embedded default, and the fallback of the Redis limiter while Redis is unreachable. The
state is per process: N API processes limiting locally admit up to N times a tenant's rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from tenantry.tenancy.limits import gcra
from tenantry.tenancy.limits.gcra import Decision
from tenantry.tenancy.limits.plans import RateLimit
from tenantry.tenancy.limits.schemas import RouteClass

_SWEEP_EVERY: Final = 10_000  # decisions between sweeps of idle keys


class LocalRateLimiter:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tats: dict[tuple[str, RouteClass] | str, float] = {}
        self._until_sweep = _SWEEP_EVERY

    def take(
        self, tenant_id: str, route_class: RouteClass, limit: RateLimit, *, cost: int = 1
    ) -> Decision:
        """Decide and record one request (synchronous: nothing here waits)."""
        return self._take((tenant_id, route_class), limit, cost)

    def take_key(self, key: str, limit: RateLimit) -> Decision:
        """Decide and record one request on a door key (``names.door_limit_key``)."""
        return self._take(key, limit, 1)

    def _take(self, key: tuple[str, RouteClass] | str, limit: RateLimit, cost: int) -> Decision:
        now = self._clock()
        decision = gcra.decide(self._tats.get(key, now), now, limit.rate, limit.burst, cost)
        if decision.allowed:
            self._tats[key] = decision.tat
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._sweep(now)
        return decision

    async def acquire(
        self, tenant_id: str, route_class: RouteClass, limit: RateLimit, *, cost: int = 1
    ) -> Decision:
        return self.take(tenant_id, route_class, limit, cost=cost)

    async def acquire_key(self, key: str, limit: RateLimit) -> Decision:
        return self.take_key(key, limit)

    def _sweep(self, now: float) -> None:
        # A key whose TAT has passed holds nothing a fresh key would not: forget it.
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}
        self._until_sweep = _SWEEP_EVERY

    def __len__(self) -> int:
        return len(self._tats)

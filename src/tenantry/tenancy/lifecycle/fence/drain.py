"""The job side of the fence: raise a tenant's fence, then wait until every live process
drained it, within a bound."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from tenantry.core.clock import utc_now
from tenantry.core.errors import Unavailable
from tenantry.tenancy.lifecycle.fence import repository
from tenantry.tenancy.lifecycle.fence.watch import FenceTiming
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated

SHOWN = 5  # processes named in the error, at most


class FenceNotDrained(Unavailable):
    """Live processes still had the tenant's requests in flight when the bound ran out."""

    code = "lifecycle.fence_not_drained"


class Fences:
    def __init__(self, sessions: SessionFactory, timing: FenceTiming | None = None) -> None:
        self._sessions, self.timing = sessions, timing or FenceTiming()

    async def raise_fence(self, tenant_id: str) -> int:
        """Bump the tenant's fence: every process drains it anew. Its sequence."""
        async with translated(), self._sessions() as session, session.begin():
            return await repository.raise_fence(session, tenant_id, utc_now())

    async def drained(self, tenant_id: str, seq: int) -> None:
        """Wait until every process with a fresh heartbeat has drained ``seq``; 503
        ``lifecycle.fence_not_drained`` naming the others once ``timing.drain`` ran out."""
        async with translated(), self._sessions() as session, session.begin():
            await repository.renew(session, tenant_id, seq, utc_now())  # seen again if old
        deadline = time.monotonic() + self.timing.drain
        while True:
            waiting = await self.laggards(tenant_id, seq)
            if not waiting:
                return
            if time.monotonic() >= deadline:
                raise _not_drained(tenant_id, waiting, self.timing.drain)
            await asyncio.sleep(min(self.timing.poll / 2, 0.05))

    async def laggards(self, tenant_id: str, seq: int) -> list[str]:
        fresh_since = utc_now() - timedelta(seconds=self.timing.stale)
        async with translated(), self._sessions() as session:
            return await repository.laggards(session, tenant_id, seq, fresh_since=fresh_since)


def _not_drained(tenant_id: str, waiting: list[str], bound: float) -> FenceNotDrained:
    shown = ", ".join(waiting[:SHOWN]) + (
        f" and {len(waiting) - SHOWN} more" if len(waiting) > SHOWN else ""
    )
    return FenceNotDrained(
        f"tenant {tenant_id!r}: {len(waiting)} live process(es) did not drain its requests in"
        f" flight within {bound:g} s: {shown}",
        details={"tenant_id": tenant_id, "processes": waiting, "bound_seconds": bound},
    )

"""Flow execution slots: how many of a tenant's messages are processed at once, everywhere.

``max_flow_executions`` caps a tenant across every worker process: with Redis configured the
slots are leases in Redis (``backends.redis.flow_slots``), taken and given back by each process,
and a dead process's leases lapse after ``lease`` seconds; without Redis (the embedded default,
one process) they are counted in the process. A slot is taken without waiting: a pool that gets
none leaves the tenant's messages in the bus until one is free.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from tenantry.tenancy.limits.concurrency import ConcurrencyLimiter, Slot
from tenantry.tenancy.limits.errors import ConcurrencyExceeded


class FlowSlot(Protocol):
    async def release(self) -> None: ...


class FlowSlots(Protocol):
    async def take(self, tenant_id: str, limit: int) -> FlowSlot | None:
        """One of the tenant's ``limit`` slots, or None when all are held."""
        ...

    async def close(self) -> None: ...


class _LocalSlot:
    __slots__ = ("_slot",)

    def __init__(self, slot: Slot) -> None:
        self._slot = slot

    async def release(self) -> None:
        self._slot.release()


class LocalFlowSlots:
    """Slots counted in this process (``limits.flows``, so the API's view is the same)."""

    def __init__(self, limiter: ConcurrencyLimiter | None = None) -> None:
        self.limiter = limiter or ConcurrencyLimiter("flow executions")

    async def take(self, tenant_id: str, limit: int) -> FlowSlot | None:
        try:
            return _LocalSlot(self.limiter.take(tenant_id, limit))
        except ConcurrencyExceeded:
            return None

    async def close(self) -> None:
        return None


def lease_id() -> str:
    return uuid.uuid4().hex

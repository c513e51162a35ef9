"""Concurrency limits: how many requests (or flow executions) of a tenant run at once.

Counters live in this process, so the limit is per process: with N API processes a tenant may
have N times ``max_in_flight`` requests in flight. A slot is taken without waiting; when none is
free the caller gets ``concurrency.limited`` (429) at once rather than queueing behind others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from tenantry.tenancy.limits.errors import ConcurrencyExceeded

_RETRY_AFTER: Final = 1.0


class Slot:
    """One held slot; :meth:`release` gives it back (once, however often it is called)."""

    __slots__ = ("_limiter", "_tenant_id", "held")

    def __init__(self, limiter: ConcurrencyLimiter, tenant_id: str, held: int) -> None:
        self._limiter: ConcurrencyLimiter | None = limiter
        self._tenant_id = tenant_id
        self.held = held  # slots of the tenant held when this one was taken, itself included

    def release(self) -> None:
        if self._limiter is not None:
            self._limiter._give_back(self._tenant_id)
            self._limiter = None


class ConcurrencyLimiter:
    def __init__(self, what: str) -> None:
        self._what = what  # "requests in flight", "flow executions": for messages
        self._held: dict[str, int] = {}

    def take(self, tenant_id: str, limit: int) -> Slot:
        """Take one of ``limit`` slots of the tenant, or raise ``concurrency.limited``."""
        held = self._held.get(tenant_id, 0)
        if held >= limit:
            raise ConcurrencyExceeded(
                f"tenant {tenant_id!r} already has {held} {self._what} (its limit is {limit})",
                retry_after=_RETRY_AFTER,
                details={"tenant_id": tenant_id, "limit": limit, "what": self._what},
            )
        self._held[tenant_id] = held + 1
        return Slot(self, tenant_id, held + 1)

    @asynccontextmanager
    async def hold(self, tenant_id: str, limit: int) -> AsyncIterator[int]:
        """Hold one slot for the block; yield how many of the tenant's slots are held."""
        slot = self.take(tenant_id, limit)
        try:
            yield slot.held
        finally:
            slot.release()

    def _give_back(self, tenant_id: str) -> None:
        left = self._held[tenant_id] - 1
        if left:
            self._held[tenant_id] = left
        else:
            del self._held[tenant_id]

    def held(self, tenant_id: str) -> int:
        return self._held.get(tenant_id, 0)

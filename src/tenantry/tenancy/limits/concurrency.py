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


class ConcurrencyLimiter:
    def __init__(self, what: str) -> None:
        self._what = what  # "requests in flight", "flow executions": for messages
        self._held: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, tenant_id: str, limit: int) -> AsyncIterator[int]:
        """Hold one of ``limit`` slots of the tenant for the block; yield how many are held."""
        held = self._held.get(tenant_id, 0)
        if held >= limit:
            raise ConcurrencyExceeded(
                f"tenant {tenant_id!r} already has {held} {self._what} (its limit is {limit})",
                retry_after=_RETRY_AFTER,
                details={"tenant_id": tenant_id, "limit": limit, "what": self._what},
            )
        self._held[tenant_id] = held + 1
        try:
            yield held + 1
        finally:
            left = self._held[tenant_id] - 1
            if left:
                self._held[tenant_id] = left
            else:
                del self._held[tenant_id]

    def held(self, tenant_id: str) -> int:
        return self._held.get(tenant_id, 0)

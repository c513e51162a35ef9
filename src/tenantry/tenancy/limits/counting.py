"""Request metering without a write per request: counts in memory, flushed as meters.

:class:`LimitsService` counts each admitted request for its tenant in this process; every
``interval`` seconds :meth:`RequestMeter.run` writes the counts as ``requests`` meters, one
row per tenant, all keyed by this process's id and the flush's sequence number. A flush that
fails keeps its batch and its key and is retried first the next time, so a retry never counts
twice (meters are idempotent per key); requests counted meanwhile go into the next batch. A
process that dies loses at most the counts of its last ``interval``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import NotFound, Unavailable
from tenantry.core.logging import get_logger
from tenantry.tenancy.limits.meters import Meters

REQUESTS: Final = "requests"

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Batch:
    key: str
    at: datetime
    counts: dict[str, int]


class RequestMeter:
    def __init__(
        self,
        meters: Meters,
        *,
        interval: float = 10.0,
        process: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._meters, self._interval, self._clock = meters, interval, clock
        self._process = process or uuid.uuid4().hex[:16]
        self._counts: Counter[str] = Counter()
        self._batches: list[_Batch] = []
        self._sequence = 0

    def count(self, tenant_id: str, requests: int = 1) -> None:
        self._counts[tenant_id] += requests

    @property
    def pending(self) -> int:
        """Requests counted and not yet written."""
        return sum(self._counts.values()) + sum(sum(b.counts.values()) for b in self._batches)

    async def flush(self) -> None:
        """Write every pending batch (raises ``Unavailable`` and keeps them if the database is
        down)."""
        if self._counts:
            self._sequence += 1
            key = f"{REQUESTS}:{self._process}:{self._sequence}"
            self._batches.append(_Batch(key, self._clock(), dict(self._counts)))
            self._counts.clear()
        while self._batches:
            batch = self._batches[0]
            for tenant_id, amount in sorted(batch.counts.items()):
                try:
                    await self._meters.record(
                        tenant_id, REQUESTS, amount, key=batch.key, ts=batch.at
                    )
                except NotFound:  # the tenant was deleted since: nothing to bill
                    log.info("limits.meter_dropped", tenant_id=tenant_id, requests=amount)
            self._batches.pop(0)

    async def run(self) -> None:
        """Flush every ``interval`` seconds until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self._interval)
                try:
                    await self.flush()
                except Unavailable as error:
                    log.warning("limits.meter_flush_failed", error=error.message)
        finally:
            try:
                await asyncio.shield(self.flush())
            except Unavailable as error:
                log.warning("limits.meter_flush_failed", error=error.message, final=True)

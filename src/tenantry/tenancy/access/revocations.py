"""Revoked token ids, per process: refreshed by one query at most every half second.

A request checks the in-memory set; when the last refresh is older than the interval, the
request that notices runs the one query (``seq > last seen``) while the others wait for it, so
a revocation made in any process refuses the token here within the interval plus that query.
While the control database cannot be read for longer than :data:`STALE_AFTER`, tokens are
refused (503) rather than checked against a set that may have missed revocations.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final

from tenantry.core.errors import Unavailable
from tenantry.core.logging import get_logger
from tenantry.tenancy.access.repository import Revocation
from tenantry.tenancy.registry.errors import ControlDatabaseUnavailable

INTERVAL: Final = 0.5  # seconds between refreshes, in each process
STALE_AFTER: Final = 1.0  # the promise: a revocation is seen everywhere within a second
_PRUNE_EVERY: Final = 60.0

log = get_logger(__name__)

Fetch = Callable[[int], Awaitable[list[Revocation]]]


class RevokedTokens:
    def __init__(
        self,
        fetch: Fetch,
        *,
        interval: float = INTERVAL,
        stale_after: float = STALE_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch, self._interval, self._stale_after = fetch, interval, stale_after
        self._clock = clock
        self._expiry: dict[str, float] = {}  # jti -> exp (epoch seconds)
        self._seq = 0
        # When the last refresh was tried, and started for the last time it succeeded.
        self._attempted = self._checked = self._pruned = -float("inf")
        self._failing = False  # whether the last read failed (a slow one that answered did not)
        self._lock = asyncio.Lock()

    async def revoked(self, jti: str, *, now: datetime) -> bool:
        """Whether ``jti`` is revoked (refreshing first when the set is older than allowed)."""
        if self._clock() - self._attempted >= self._interval:
            await self._refresh(now)
        if self._failing and self._clock() - self._checked > self._stale_after:
            raise ControlDatabaseUnavailable(
                "revoked tokens could not be read from the control database: tokens are refused "
                "until they can"
            )
        return jti in self._expiry

    def add(self, jti: str, expires_at: datetime) -> None:
        """A revocation made by this process: in force here at once."""
        self._expiry[jti] = expires_at.timestamp()

    async def _refresh(self, now: datetime) -> None:
        async with self._lock:  # one query per process at a time; the others reuse it
            started = self._clock()
            if started - self._attempted < self._interval:
                return
            self._attempted = started
            try:
                found = await self._fetch(self._seq)
            except Unavailable as error:
                log.warning("token_revocations.unreadable", seq=self._seq, error=error.message)
                self._failing = True
                return
            self._failing = False
            for revocation in found:
                self._expiry[revocation.jti] = revocation.expires_at.timestamp()
                self._seq = max(self._seq, revocation.seq)
            self._checked = started
            if started - self._pruned >= _PRUNE_EVERY:
                self._prune(now.timestamp() - 3600)
                self._pruned = started

    def _prune(self, before: float) -> None:
        # An expired token is refused by its exp anyway; an hour of slack covers clock skew.
        for jti in [jti for jti, expiry in self._expiry.items() if expiry < before]:
            del self._expiry[jti]

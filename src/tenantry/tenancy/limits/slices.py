"""A process's slices of its tenants' storage quotas (docs/limits.md, "Storage quotas").

A reservation that finds no room in the process's slice of the counter takes, in the same guarded
increment, a slice beyond its own need: a share of the quota (``1/SHARE`` of it, at most
``MOST_BYTES`` and ``MOST_ITEMS``) that the counter counts as used from then on. The next
reservations of that counter in this process spend the slice in memory, with no round trip;
what is left is given back when the slice is idle, when the quota changes, when a reservation
does not fit it (in that reservation's own transaction), and when the process closes.

The counter never passes the quota: a slice is room the guarded increment granted. Another
process may be refused while room sits in this one's slice (at most one slice per tenant,
resource and process), and a process that dies with a slice out leaves it counted: the safe side,
bounded by one slice per tenant, resource and process.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Final

SHARE: Final = 128  # a slice is at most this fraction of the quota
MOST_BYTES: Final = 4 * 1024 * 1024  # and at most this many bytes
MOST_ITEMS: Final = 64  # and this many items
IDLE: Final = 2.0  # seconds unused before a slice is given back


def room_of(limit: int, most: int) -> int:
    """The room a slice takes beyond its first reservation, for a quota of ``limit``."""
    return min(limit // SHARE, most)


@dataclass(slots=True)
class Slice:
    """Room of one tenant's counter that this process holds: counted, not yet written."""

    bytes: int = 0
    items: int = 0
    limits: tuple[int, int] = (0, 0)  # the quota (bytes, items) it was taken under
    most: tuple[int, int] = (0, 0)  # the room it may hold at most (releases stop there)
    used_at: float = 0.0  # monotonic time of its last use
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one refill or give-back at once

    def spend(self, size: int, items: int, limits: tuple[int, int]) -> bool:
        """Take ``size`` bytes and ``items`` from the slice, if it holds them for ``limits``."""
        if limits != self.limits or size > self.bytes or items > self.items:
            return False
        self.bytes, self.items, self.used_at = (
            self.bytes - size,
            self.items - items,
            time.monotonic(),
        )
        return True

    def refund(self, size: int, items: int) -> bool:
        """Keep a release in the slice (no round trip) when it stays within its bound and no
        refill is reading it."""
        if self.lock.locked() or self.limits == (0, 0):
            return False
        if self.bytes + size > self.most[0] or self.items + items > self.most[1]:
            return False
        self.bytes, self.items, self.used_at = (
            self.bytes + size,
            self.items + items,
            time.monotonic(),
        )
        return True

    def refill(self, size: int, items: int, limits: tuple[int, int], most: tuple[int, int]) -> None:
        """Hold ``size`` bytes and ``items`` newly counted (all of the old room given back)."""
        self.bytes, self.items, self.limits, self.most = size, items, limits, most
        self.used_at = time.monotonic()

    def idle(self, now: float) -> bool:
        return now - self.used_at >= IDLE

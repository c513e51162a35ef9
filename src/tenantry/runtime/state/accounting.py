"""State values counted against the tenant's state quota, the same way on every backend.

A backend keeps, next to each value, the size it was counted at and its expiry (SQLite: the
row itself; Redis: a ledger per tenant environment, see ``backends.redis.state``). Then:

* a write first purges expired values (below) and reads the counted size of the value it
  replaces; a backend may store the value in the same step when the write needs no room from
  the quota: it replaces a counted value at least as large (a shrink is given back once
  written), or the quota is :data:`~tenantry.runtime.quota.UNLIMITED` (nothing to reserve; the
  counts are kept all the same);
* otherwise the write reserves the difference and writes only if that size is still the
  counted one; if not, another writer came first and it counts and tries again (the last
  writer wins, and the counters match what is stored);
* a delete removes the value and its counted size in one command and gives the size back;
* expired values stay counted until a write of the same tenant environment *purges* them
  (removes them with their counted sizes and gives those back) before it reserves; a write
  that its quota refuses purges every expired value of its environment and tries once more.

A tenant environment that never writes again keeps its expired values counted: over-counting
is the safe side, and its next write frees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from tenantry.core.errors import TenantryError
from tenantry.runtime.quota import UNLIMITED, StorageQuota, Stored, refused, stored
from tenantry.runtime.state.errors import StateBusy

ATTEMPTS: Final = 8


@dataclass(frozen=True, slots=True)
class Freed:
    """Counted values removed (deleted, cleared or purged): their bytes and how many."""

    bytes: int = 0
    items: int = 0

    def __add__(self, other: Freed) -> Freed:
        return Freed(self.bytes + other.bytes, self.items + other.items)


@dataclass(frozen=True, slots=True)
class Counted:
    """What a write found: the counted size of the value under its key (None when there is
    none), the expired values purged on the way, and whether it stored its value already."""

    size: int | None
    purged: Freed = Freed()
    written: bool = False


class Ledger(Protocol):
    """What a backend offers the accounting of one tenant environment's values."""

    async def write_or_count(
        self, key: str, data: bytes, ttl: float | None, *, thorough: bool, unlimited: bool
    ) -> Counted:
        """Purge expired values (all of them when ``thorough``, else as many as the backend
        finds cheap), then store ``data`` (and its expiry, or none) if it needs no room from
        the quota: the value under ``key`` is counted at ``len(data)`` or more, or
        ``unlimited``. The counted size found before; ``written`` says whether it stored
        (a backend may always leave the write to :meth:`write_if`)."""
        ...

    async def write_if(
        self, key: str, data: bytes, ttl: float | None, *, counted: int | None
    ) -> bool:
        """Store ``data`` (and its expiry, or none) only if the counted size under ``key`` is
        still ``counted``; False when it is not (nothing written)."""
        ...


async def give_back(quota: StorageQuota, freed: Freed) -> None:
    if freed.items or freed.bytes:
        await quota.release(Stored.STATE, freed.bytes, freed.items)


async def write(
    quota: StorageQuota, ledger: Ledger, key: str, data: bytes, ttl: float | None
) -> None:
    """Count and store one value (see the module's description); ``state.busy`` when other
    writers of the key came first :data:`ATTEMPTS` times."""
    thorough = False
    # Only UNLIMITED is known to count nothing; any other quota must see every growth.
    unlimited = quota is UNLIMITED
    for _ in range(ATTEMPTS):
        found = await ledger.write_or_count(key, data, ttl, thorough=thorough, unlimited=unlimited)
        if found.purged.items or found.purged.bytes:  # most writes purge nothing: no call
            await give_back(quota, found.purged)
        if found.written:  # it needed no room; a shrink is given back now that it is stored
            if found.size is not None and found.size > len(data):
                await quota.release(Stored.STATE, found.size - len(data), 0)
            return
        try:
            if await _counted_write(quota, ledger, key, data, ttl=ttl, counted=found.size):
                return
        except TenantryError as error:
            if thorough or not refused(error):
                raise
            thorough = True  # expired values may hold the room: purge them all, once
    raise StateBusy("the value kept changing while it was being written; try again")


async def _counted_write(
    quota: StorageQuota,
    ledger: Ledger,
    key: str,
    data: bytes,
    *,
    ttl: float | None,
    counted: int | None,
) -> bool:
    try:
        async with stored(quota, Stored.STATE, old=counted, new=len(data)):
            if not await ledger.write_if(key, data, ttl, counted=counted):
                raise _Overtaken
    except _Overtaken:
        return False  # the reservation was given back on the way out
    return True


class _Overtaken(Exception):
    """Another writer changed the value between reading its size and writing (internal)."""

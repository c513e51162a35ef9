"""Storage quotas: bytes and items per tenant and resource, reserved at write time.

A write reserves first (one guarded increment of the tenant's counter, so concurrent writers
can never take it past the quota) and releases if the write then fails; a delete releases
what it frees. A resize reserves the growth (``count=0``) or releases the shrink. A process
killed between reserving and writing leaves the reservation counted (over-counting is the safe
side); :meth:`Quotas.usage` shows the counters. A reservation that goes to the counter also
takes a slice of it for this process, spent in memory by the next ones (``slices``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core import ids
from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import InvalidInput, TenantryError
from tenantry.core.logging import get_logger
from tenantry.tenancy.events import once
from tenantry.tenancy.limits import repository, slices
from tenantry.tenancy.limits.errors import QuotaExceeded, QuotaTooLarge
from tenantry.tenancy.limits.plans import Quota
from tenantry.tenancy.limits.ports import LimitsSource
from tenantry.tenancy.limits.repository import Usage
from tenantry.tenancy.limits.schemas import MAX_BYTES, MAX_COUNT, Resource
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated

log = get_logger(__name__)
LIFETIME: Final = "lifetime"  # the counter period of stored resources: they do not reset


@dataclass(frozen=True, slots=True)
class StorageUsage:
    resource: Resource
    bytes: int
    items: int
    max_bytes: int
    max_items: int


def _resource(value: object) -> Resource:
    try:
        return Resource(value if isinstance(value, str) else "")
    except ValueError:
        known = ", ".join(r.value for r in Resource)
        raise InvalidInput(
            f"{ids.show(value)} is not a quota resource; use one of {known}",
            code="quota.resource_invalid",
        ) from None


def _amount(name: str, value: object, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise InvalidInput(
            f"{name} must be a whole number from 0 to {limit}, not {value!r}",
            code="quota.amount_invalid",
        )
    return value


_KNOWN_COUNTERS: Final = 100_000


class Quotas:
    def __init__(
        self,
        sessions: SessionFactory,
        source: LimitsSource,
        *,
        clock: Clock = utc_now,
        events_window: int = 3600,
    ) -> None:
        self._sessions, self._source, self._clock = sessions, source, clock
        self._events_window, self._once = events_window, once.Once()  # quota.exceeded events
        self._counters: set[tuple[str, str]] = set()  # counters known to exist: no upsert
        self._slices: dict[tuple[str, str], slices.Slice] = {}  # this process's room, counted

    @asynccontextmanager
    async def reserve(
        self,
        tenant: str,
        resource: Resource | str,
        bytes: int,
        count: int = 1,
        *,
        item_bytes: int | None = None,
    ) -> AsyncIterator[None]:
        """Reserve ``bytes`` and ``count`` items for the block; released if the block raises.

        ``item_bytes`` is the size of the item written when ``bytes`` is only its growth.
        """
        await self.take(tenant, resource, bytes, count, item_bytes=item_bytes)
        try:
            yield
        except BaseException:
            # Shielded: a cancelled writer still gives its reservation back.
            await asyncio.shield(self.release(tenant, resource, bytes, count))
            raise

    async def take(
        self,
        tenant: str,
        resource: Resource | str,
        bytes: int,
        count: int = 1,
        *,
        item_bytes: int | None = None,
    ) -> None:
        """The reservation alone, for callers that release by themselves."""
        tenant, kind = ids.tenant_id(tenant), _resource(resource)
        size, items = _amount("bytes", bytes, MAX_BYTES), _amount("count", count, MAX_COUNT)
        quota = (await self._source.get(tenant)).storage[kind]
        written = size if item_bytes is None else _amount("item_bytes", item_bytes, MAX_BYTES)
        _check_item(tenant, kind, quota, written)
        counter, limits = (tenant, kind.value), (quota.bytes, quota.count)
        held = self._slices.get(counter)
        # Not while a refill or a give-back holds the lock: it has read the slice to net it.
        if held is not None and not held.lock.locked() and held.spend(size, items, limits):
            return  # within this process's slice: counted already
        while True:
            held = self._slices.setdefault(counter, slices.Slice())
            async with held.lock:
                if self._slices.get(counter) is not held:  # given back while this one waited
                    continue
                if held.spend(size, items, limits):  # refilled while this one waited
                    return
                await self._refill(tenant, kind, quota, held, size=size, items=items)
                return

    async def _refill(
        self,
        tenant: str,
        kind: Resource,
        quota: Quota,
        held: slices.Slice,
        *,
        size: int,
        items: int,
    ) -> None:
        """Reserve ``size`` and ``items`` with a new slice beyond them, giving back what the old
        slice held, in one guarded increment; without a slice if that does not fit; else give
        the old slice back and refuse."""
        now, counter = self._clock(), (tenant, kind.value)
        known = counter in self._counters
        limits = (quota.bytes, quota.count)
        most = (
            slices.room_of(quota.bytes, slices.MOST_BYTES),
            slices.room_of(quota.count, slices.MOST_ITEMS) if items else 0,
        )
        kept = (held.bytes, held.items)  # counted already: netted against what is added
        # Out of the slice before the round trip: a transaction that fails, or a commit whose
        # outcome is unknown (cancelled), leaves the old room counted and unspendable.
        held.refill(0, 0, (0, 0), (0, 0))
        async with translated(), self._sessions() as session, session.begin():

            async def add(more: tuple[int, int], kept: tuple[int, int]) -> bool:
                return await repository.add_within(
                    session,
                    tenant,
                    kind.value,
                    LIFETIME,
                    used=size + more[0] - kept[0],
                    items=items + more[1] - kept[1],
                    max_used=quota.bytes,
                    max_items=quota.count,
                    now=now,
                )

            if not known:
                await repository.ensure_counter(session, tenant, kind.value, LIFETIME, now=now)
            granted = most if most != (0, 0) and await add(most, kept) else None
            if granted is None and await add((0, 0), kept):
                granted = (0, 0)
            if granted is None:  # give the slice back; its counter may be gone (a purge)
                if kept != (0, 0):
                    await repository.subtract(
                        session, tenant, kind.value, LIFETIME, used=kept[0], items=kept[1], now=now
                    )
                if known:
                    await repository.ensure_counter(session, tenant, kind.value, LIFETIME, now=now)
                    if await add((0, 0), (0, 0)):
                        granted = (0, 0)
            refusal = (
                None
                if granted is not None
                else _refused(
                    tenant,
                    kind,
                    quota,
                    await repository.read_counter(session, tenant, kind.value, LIFETIME),
                    size=size,
                    items=items,
                )
            )
            if isinstance(refusal, QuotaExceeded):  # announced once per window, committed
                await self._announce(session, tenant, kind, refusal, now=now)
        if refusal is not None:  # committed: the old slice was given back
            raise refusal
        if granted is not None:  # committed: the slice holds what was granted beyond the write
            held.refill(granted[0], granted[1], limits, most)
        if len(self._counters) >= _KNOWN_COUNTERS:
            self._counters.clear()
        self._counters.add(counter)

    async def _announce(
        self,
        session: AsyncSession,
        tenant: str,
        kind: Resource,
        refusal: QuotaExceeded,
        *,
        now: datetime,
    ) -> None:
        event, key = once.quota_exceeded(
            tenant, kind.value, dict(refusal.details), now=now, window=self._events_window
        )
        await self._once.emit(session, event, key=key, now=now)

    async def release(
        self,
        tenant: str,
        resource: Resource | str,
        bytes: int,
        count: int = 1,
    ) -> None:
        """Give back ``bytes`` and ``count`` items (after a delete or a failed write): into this
        process's slice of the counter when it stays within a slice, else to the counter."""
        tenant, kind = ids.tenant_id(tenant), _resource(resource)
        size, items = _amount("bytes", bytes, MAX_BYTES), _amount("count", count, MAX_COUNT)
        held = self._slices.get((tenant, kind.value))
        if held is not None and held.refund(size, items):
            return
        async with translated(), self._sessions() as session, session.begin():
            await repository.subtract(
                session, tenant, kind.value, LIFETIME, used=size, items=items, now=self._clock()
            )

    async def give_back(self, *, idle_only: bool = False) -> None:
        """Give every slice's room back to its counter (only the idle ones if ``idle_only``)."""
        now = time.monotonic()
        for counter, held in list(self._slices.items()):
            if idle_only and not held.idle(now):
                continue
            async with held.lock:
                if idle_only and not held.idle(now):
                    continue
                kept = held.bytes, held.items
                held.refill(0, 0, (0, 0), (0, 0))  # first: a failed give-back over-counts
                if self._slices.get(counter) is held:
                    del self._slices[counter]
                if kept != (0, 0):
                    async with translated(), self._sessions() as session, session.begin():
                        await repository.subtract(
                            session,
                            *counter,
                            LIFETIME,
                            used=kept[0],
                            items=kept[1],
                            now=self._clock(),
                        )

    @asynccontextmanager
    async def running(self, every: float = slices.IDLE) -> AsyncIterator[Quotas]:
        """Give idle slices back every ``every`` seconds for the block, and all at its end."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.give_back(idle_only=True)
                except TenantryError as error:  # that slice stays counted: the safe side
                    log.warning("quota.give_back_failed", error=error.message)

        task = asyncio.create_task(loop())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            try:
                await self.give_back()
            except TenantryError as error:  # left counted: over-counting, the safe side
                log.warning("quota.give_back_failed", error=error.message)

    async def usage(self, tenant: str) -> list[StorageUsage]:
        """Every resource's counters and quota for one tenant: what is written, so without the
        room this process's slices hold (another process's slices still count)."""
        tenant = ids.tenant_id(tenant)
        limits = await self._source.get(tenant)
        async with translated(), self._sessions() as session:
            counters = await repository.read_counters(session, tenant, LIFETIME)
        found = []
        for kind in Resource:
            used, quota = counters.get(kind.value, Usage(0, 0)), limits.storage[kind]
            held = self._slices.get((tenant, kind.value)) or slices.Slice()
            written = max(0, used.used - held.bytes), max(0, used.items - held.items)
            found.append(StorageUsage(kind, *written, quota.bytes, quota.count))
        return found

    def bind(self, tenant: str) -> TenantQuota:
        """The quotas of one tenant, for a store bound to that tenant."""
        return TenantQuota(self, ids.tenant_id(tenant))


def _stored(kind: Resource) -> str:
    """What a quota's bytes are, said in a refusal: the client sent fewer than it counts."""
    if kind is Resource.STATE:
        return "stored bytes (the value as compact JSON)"
    return "stored bytes (sealed: what was sent, encrypted with its envelope)"


def _check_item(tenant: str, kind: Resource, quota: Quota, written: int) -> None:
    if quota.item_bytes is not None and written > quota.item_bytes:
        raise QuotaTooLarge(
            f"a {kind.value} item of {written} {_stored(kind)} is larger than tenant "
            f"{tenant!r} may store ({quota.item_bytes} stored bytes per item)",
            details={
                "resource": kind.value,
                "item_bytes": quota.item_bytes,
                "size": written,
                "limit": quota.item_bytes,
                "stored_bytes": True,
            },
        )


def _refused(
    tenant: str, kind: Resource, quota: Quota, usage: Usage, *, size: int, items: int
) -> QuotaExceeded | QuotaTooLarge:
    left_bytes = max(0, quota.bytes - usage.used)
    left_items = max(0, quota.count - usage.items)
    details = {
        "resource": kind.value,
        "used_bytes": usage.used,
        "max_bytes": quota.bytes,
        "used_items": usage.items,
        "max_items": quota.count,
    }
    if items <= left_items and size > left_bytes and (left_bytes > 0 or size > quota.bytes):
        return QuotaTooLarge(
            f"a {kind.value} write of {size} {_stored(kind)} does not fit the {left_bytes} "
            f"bytes left of the {quota.bytes}-byte quota of tenant {tenant!r}, which counts "
            "stored bytes",
            details={**details, "size": size, "limit": left_bytes, "stored_bytes": True},
        )
    what = "items" if items > left_items else "bytes"
    return QuotaExceeded(
        f"tenant {tenant!r} has used its {kind.value} quota "
        f"({usage.items}/{quota.count} items, {usage.used}/{quota.bytes} bytes); "
        f"delete some {kind.value} or raise the plan's limit",
        details={**details, "exhausted": what},
    )


@dataclass(frozen=True, slots=True)
class TenantQuota:
    """:class:`Quotas` bound to one tenant: what a tenant-confined store is handed."""

    quotas: Quotas
    tenant_id: ids.TenantId

    def reserve(
        self,
        resource: Resource | str,
        bytes: int,
        count: int = 1,
        *,
        item_bytes: int | None = None,
    ) -> AbstractAsyncContextManager[None]:
        return self.quotas.reserve(self.tenant_id, resource, bytes, count, item_bytes=item_bytes)

    async def release(
        self,
        resource: Resource | str,
        bytes: int,
        count: int = 1,
    ) -> None:
        await self.quotas.release(self.tenant_id, resource, bytes, count)

"""Storage quotas: bytes and items per tenant and resource, reserved at write time.

A write reserves first (one guarded increment of the tenant's counter, so concurrent writers
can never take it past the quota) and releases if the write then fails; a delete releases
what it frees. A resize reserves the growth (``count=0``) or releases the shrink. A process
killed between reserving and writing leaves the reservation counted (over-counting is the safe
side); :meth:`Quotas.usage` shows the counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core import ids
from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.events import once
from tenantry.tenancy.limits import repository
from tenantry.tenancy.limits.errors import QuotaExceeded, QuotaTooLarge
from tenantry.tenancy.limits.plans import Quota
from tenantry.tenancy.limits.ports import LimitsSource
from tenantry.tenancy.limits.repository import Usage
from tenantry.tenancy.limits.schemas import MAX_BYTES, MAX_COUNT, Resource
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated

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
        now, counter = self._clock(), (tenant, kind.value)
        known = counter in self._counters
        async with translated(), self._sessions() as session, session.begin():

            async def add() -> bool:
                return await repository.add_within(
                    session,
                    tenant,
                    kind.value,
                    LIFETIME,
                    used=size,
                    items=items,
                    max_used=quota.bytes,
                    max_items=quota.count,
                    now=now,
                )

            if not known:
                await repository.ensure_counter(session, tenant, kind.value, LIFETIME, now=now)
            done = await add()
            if not done and known:  # refused, or its counter is gone (a purge): make sure
                await repository.ensure_counter(session, tenant, kind.value, LIFETIME, now=now)
                done = await add()
            refusal = (
                None
                if done
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
        if refusal is not None:
            raise refusal
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
        """Give back ``bytes`` and ``count`` items (after a delete or a failed write)."""
        tenant, kind = ids.tenant_id(tenant), _resource(resource)
        size, items = _amount("bytes", bytes, MAX_BYTES), _amount("count", count, MAX_COUNT)
        async with translated(), self._sessions() as session, session.begin():
            await repository.subtract(
                session, tenant, kind.value, LIFETIME, used=size, items=items, now=self._clock()
            )

    async def usage(self, tenant: str) -> list[StorageUsage]:
        """Every resource's counters and quota for one tenant."""
        tenant = ids.tenant_id(tenant)
        limits = await self._source.get(tenant)
        async with translated(), self._sessions() as session:
            counters = await repository.read_counters(session, tenant, LIFETIME)
        found = []
        for kind in Resource:
            used, quota = counters.get(kind.value, Usage(0, 0)), limits.storage[kind]
            found.append(StorageUsage(kind, used.used, used.items, quota.bytes, quota.count))
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

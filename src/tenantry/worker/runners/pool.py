"""A worker pool: round-robin over the ingress of the tenant environments it serves.

Each round shares the pool's free places evenly between the tenant environments and fetches
them all at once, so a busy tenant gets the same turn as a quiet one; a tenant at its
``max_flow_executions`` (counted across processes, see ``tenancy.limits.flow_slots``) is passed
over until a slot is free, and the pool processes at most ``concurrency`` messages at once.
Which tenant environments it serves is read from the registry every ``refresh`` seconds
(``tenancy.pools.directory``): tenants added, moved to this pool or resumed are picked up,
suspended or moved ones dropped, without a restart. An idle pool sleeps until a message is
published on ingress (a live listener) or ``idle`` seconds pass.

A round fetches only the tenant environments that may have messages (hinted): those heard of
on ingress since they were last fetched, and those whose last fetch filled its share; every
``idle`` seconds (and on every round while the listener is down) all of them are hinted, for
redeliveries and anything not heard. A hint stays until its tenant environment is fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tenantry.core import names
from tenantry.core.errors import TenantryError
from tenantry.core.logging import get_logger
from tenantry.runtime.messaging.ports import Bus, Delivery
from tenantry.tenancy.limits.flow_slots import FlowSlot, FlowSlots
from tenantry.tenancy.limits.plans import Limits
from tenantry.tenancy.pools.directory import Served, of_pool
from tenantry.worker.runners.processing import ORDER_DELAY, Outcome, Processor

log = get_logger(__name__)

SLOT_WAIT = 0.2  # seconds before a message refused a slot elsewhere comes again
DRAIN = 10.0  # seconds a stopping pool lets its messages finish before leaving them to others


@dataclass(frozen=True, slots=True)
class PoolSettings:
    concurrency: int = 16
    refresh: float = 2.0
    idle: float = 0.25


@dataclass(slots=True)
class Pool:
    name: str  # ``shared``, ``tenant:{id}``, or ``*`` for every tenant environment
    bus: Bus
    processor: Processor
    served: Callable[[], Awaitable[list[Served]]]  # the registry's view (``Directory.served``)
    limits: Callable[[str], Awaitable[Limits]]  # a tenant's effective limits
    slots: FlowSlots
    settings: PoolSettings = field(default_factory=PoolSettings)
    entries: list[Served] = field(default_factory=list)
    _running: dict[asyncio.Task[None], str] = field(default_factory=dict)
    _per_tenant: dict[str, int] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _cursor: int = 0
    _hints: set[tuple[str, str]] = field(default_factory=set)  # (tenant, env) that may have some
    _swept: float = float("-inf")  # when a round last fetched every tenant environment
    _hearing: bool = False  # the ingress listener is up

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set; then let running messages finish (a while)."""
        helpers = [
            asyncio.create_task(self._refreshing(stop)),
            asyncio.create_task(self._listening()),
        ]
        try:
            await self.refresh()
            while not stop.is_set():
                self._wake.clear()
                if not await self.round():
                    await _first(self._wake.wait(), stop.wait(), seconds=self.settings.idle)
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._drain()

    async def refresh(self) -> None:
        try:
            self.entries = of_pool(await self.served(), self.name)
        except TenantryError as error:  # the registry is unreachable: keep serving as before
            log.warning("pool.refresh_failed", pool=self.name, code=error.code)

    async def round(self) -> int:
        """One turn over the tenant environments; how many messages were started.

        The free capacity is shared out evenly: each tenant environment may start up to its
        share (and never past its own cap), all fetched at once; with fewer free places than
        tenants, the next ones after the last served take them, one each, and the places of
        those that had nothing go to the ones after them (fetches do not wait, so an empty
        tenant costs a round trip, not a pull's expiry).
        """
        entries, free = self.entries, self.settings.concurrency - len(self._running)
        if not entries or free <= 0:
            return 0
        if self._sweeping():  # each is fetched before it is not hinted any more
            self._hints.update(_key(entry) for entry in entries)
        start = self._cursor % len(entries)
        turn = [
            (offset, entries[(start + offset) % len(entries)]) for offset in range(len(entries))
        ]
        waiting = [(o, e) for o, e in turn if _key(e) in self._hints]
        served, total = -1, 0
        while waiting and free > 0:
            size = min(free, len(waiting))
            wave, waiting = waiting[:size], waiting[size:]
            counts = await asyncio.gather(*(self._start(e, free // size) for _, e in wave))
            served = max([served, *(o for (o, _), n in zip(wave, counts, strict=True) if n)])
            total, free = total + sum(counts), free - sum(counts)
        if served >= 0:
            self._cursor = start + served + 1  # the next round starts after the last served
        return total

    def _sweeping(self) -> bool:
        """Whether every tenant environment is to be hinted (fetched once more) now."""
        now = asyncio.get_running_loop().time()
        if self._hearing and now - self._swept < self.settings.idle:
            return False
        self._swept = now
        return True

    def heard(self, subject: str) -> None:
        """A message was published on ``subject`` (ingress): its tenant environment is hinted."""
        try:
            _, tenant, env, _, _ = names.parse_subject(subject, prefix=self.bus.prefix)
        except TenantryError:
            return
        self._hint((tenant, env))

    def _hint(self, key: tuple[str, str]) -> None:
        self._hints.add(key)
        self._wake.set()

    def _hint_later(self, key: tuple[str, str], delay: float) -> None:
        """Hint ``key`` once a message put back for ``delay`` seconds is due again."""
        asyncio.get_running_loop().call_later(delay, self._hint, key)

    async def _start(self, entry: Served, share: int) -> int:
        """Fetch and start up to ``share`` messages of one tenant environment."""
        tenant, key = entry.tenant_id, _key(entry)
        try:
            limit = (await self.limits(tenant)).max_flow_executions
            room = min(share, limit - self._per_tenant.get(tenant, 0))
            if room <= 0:
                return 0  # hinted still, if it was
            self._hints.discard(key)  # a publish heard from now on hints it again
            found = await self.bus.fetch(
                names.Direction.INGRESS, tenant, entry.env_id, batch=room, wait=0.0
            )
        except TenantryError as error:
            log.warning("pool.fetch_failed", pool=self.name, tenant_id=tenant, code=error.code)
            self._hints.add(key)
            return 0
        if len(found) >= room:  # its share filled: more may be waiting
            self._hints.add(key)
        taken = await asyncio.gather(*(self._slot(tenant, limit) for _ in found))
        slots = [slot for slot in taken if slot is not None]  # alike: the first ones get them
        for delivery, slot in zip(found, slots, strict=False):
            self._started(key, delivery, slot)
        for delivery in found[len(slots) :]:  # every slot of the tenant is held elsewhere
            await delivery.nak(SLOT_WAIT)
        if len(slots) < len(found):
            self._hint_later(key, SLOT_WAIT)
        return len(slots)

    async def _slot(self, tenant: str, limit: int) -> FlowSlot | None:
        try:
            return await self.slots.take(tenant, limit)
        except TenantryError as error:
            log.warning("pool.slot_failed", pool=self.name, tenant_id=tenant, code=error.code)
            return None

    def _started(self, key: tuple[str, str], delivery: Delivery, slot: FlowSlot) -> None:
        tenant = key[0]
        self._per_tenant[tenant] = self._per_tenant.get(tenant, 0) + 1
        task = asyncio.create_task(self._process(key, delivery, slot))
        self._running[task] = tenant
        task.add_done_callback(self._done)

    async def _process(self, key: tuple[str, str], delivery: Delivery, slot: FlowSlot) -> None:
        try:
            if await self.processor.handle(delivery) is Outcome.WAITING:
                self._hint_later(key, ORDER_DELAY)  # back on the bus then, and not heard of
        except Exception as error:  # left unsettled: the bus delivers it again
            log.error("pool.message_failed", pool=self.name, error=repr(error))
        finally:
            await slot.release()

    def _done(self, task: asyncio.Task[None]) -> None:
        tenant = self._running.pop(task)
        left = self._per_tenant[tenant] - 1
        if left:
            self._per_tenant[tenant] = left
        else:
            del self._per_tenant[tenant]
        self._wake.set()

    async def _refreshing(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _first(stop.wait(), seconds=self.settings.refresh)
            await self.refresh()
            self._wake.set()

    async def _listening(self) -> None:
        """Wake the pool when anything is published on ingress (the read itself is durable)."""
        every_ingress = names.direction_filter(names.Direction.INGRESS, prefix=self.bus.prefix)
        while True:
            try:
                async with self.bus.listen(every_ingress) as messages:
                    self._hearing = True
                    async for message in messages:
                        self.heard(message.subject)
            except TenantryError as error:
                log.warning("pool.listen_failed", pool=self.name, code=error.code)
                self._hearing = False  # every round fetches every tenant meanwhile
                await asyncio.sleep(self.settings.idle * 4)
            finally:
                self._hearing = False

    async def _drain(self) -> None:
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=DRAIN)
        for task in pending:  # unacknowledged: delivered again to another worker
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    @property
    def running(self) -> int:
        return len(self._running)


def _key(entry: Served) -> tuple[str, str]:
    return entry.tenant_id, entry.env_id


async def _first(*waits: Awaitable[object], seconds: float) -> None:
    """Wait until the first of ``waits`` is done, or ``seconds`` have passed."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

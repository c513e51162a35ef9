"""The in-process bus: the embedded default, with JetStream's semantics inside one process.

Durable queues per direction and tenant environment (explicit acknowledgement, redelivery after
``ack_wait`` or a ``nak``, backoff), deduplication by message id within ``dedup_window``, a
per-tenant-environment cap on kept messages (publishing past it is refused, nothing is dropped),
and live listeners with NATS subject matching and queue groups. Nothing outlives the process:
``tenantry up`` serves the API and runs the workers in the one process that holds it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from tenantry.backends.memory.subjects import matches
from tenantry.core import names
from tenantry.runtime.messaging import live
from tenantry.runtime.messaging.errors import BusUnavailable, TenantBusFull
from tenantry.runtime.messaging.limits import BACKOFF, BusLimits, backoff
from tenantry.runtime.messaging.ports import Message

__all__ = ["BACKOFF", "BusLimits", "InProcessBus"]


@dataclass(slots=True)
class _Kept:
    seq: int
    subject: str
    data: bytes
    due: float = 0.0  # monotonic time it may be delivered (again)
    attempts: int = 0
    leased: int = 0  # the delivery that holds it, 0 when none


@dataclass(slots=True)
class _Queue:
    kept: OrderedDict[int, _Kept] = field(default_factory=OrderedDict)
    seen: OrderedDict[str, float] = field(default_factory=OrderedDict)  # message id -> at
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class _Delivery:
    __slots__ = ("_bus", "_kept", "_lease", "_queue", "attempt", "data", "subject")

    def __init__(self, bus: InProcessBus, queue: _Queue, kept: _Kept, lease: int) -> None:
        self._bus, self._queue, self._kept, self._lease = bus, queue, kept, lease
        self.subject, self.data, self.attempt = kept.subject, kept.data, kept.attempts

    def _held(self) -> bool:
        return self._kept.leased == self._lease and self._kept.seq in self._queue.kept

    async def ack(self) -> None:
        if self._held():
            del self._queue.kept[self._kept.seq]

    async def term(self) -> None:
        await self.ack()

    async def nak(self, delay: float | None = None) -> None:
        if self._held():
            wait = delay if delay is not None else backoff(self._kept.attempts)
            self._kept.leased, self._kept.due = 0, self._bus.now() + wait
            self._bus.wake(self._queue, after=wait)

    async def in_progress(self) -> None:
        if self._held():
            self._kept.due = self._bus.now() + self._bus.limits.ack_wait


class InProcessBus:
    def __init__(
        self,
        *,
        prefix: str = names.DEFAULT_SUBJECT_PREFIX,
        limits: BusLimits | None = None,
        now: Callable[[], float] = time.monotonic,
        events_prefix: str = names.DEFAULT_EVENT_PREFIX,
    ) -> None:
        self.prefix = names.check_subject_prefix(prefix)
        self.events_prefix = names.check_subject_prefix(events_prefix)
        self._events_seen: OrderedDict[str, float] = OrderedDict()  # event id -> at
        self.limits = limits or BusLimits()
        self.now = now
        self._queues: dict[tuple[names.Direction, str, str], _Queue] = {}
        self._listeners: list[tuple[str, str | None, asyncio.Queue[Message]]] = []
        self._seqs = itertools.count(1)
        self._leases = itertools.count(1)
        self._closed = False

    def _queue(self, direction: names.Direction, tenant: str, env: str) -> _Queue:
        return self._queues.setdefault((direction, tenant, env), _Queue())

    async def publish(self, subject: str, data: bytes, *, message_id: str) -> None:
        if self._closed:
            raise BusUnavailable("the in-process bus is closed")
        direction, tenant, env, _, _ = names.parse_subject(subject, prefix=self.prefix)
        names.bus_message_id(direction, tenant, env, message_id)  # refuses a malformed id
        queue = self._queue(direction, tenant, env)
        now = self.now()
        _forget_before(queue.seen, now - self.limits.dedup_window)
        if message_id in queue.seen:
            return  # a duplicate within the window: stored once
        if len(queue.kept) >= self.limits.max_msgs:
            raise TenantBusFull(
                f"tenant {tenant!r} environment {env!r} holds {len(queue.kept)} "
                f"{direction.value} messages, its limit",
                retry_after=1.0,
                details={"tenant_id": tenant, "env_id": env, "limit": self.limits.max_msgs},
            )
        queue.seen[message_id] = now
        seq = next(self._seqs)
        queue.kept[seq] = _Kept(seq, subject, data, due=now)
        queue.ready.set()
        self._tell_listeners(Message(subject, data))

    async def publish_event(self, subject: str, data: bytes, *, message_id: str) -> None:
        """Offer the event to live listeners, once per id within the deduplication window
        (nothing keeps it: no process outlives this bus to read it later)."""
        if self._closed:
            raise BusUnavailable("the in-process bus is closed")
        names.parse_event_subject(subject, prefix=self.events_prefix)
        now = self.now()
        _forget_before(self._events_seen, now - self.limits.dedup_window)
        if message_id in self._events_seen:
            return
        self._events_seen[message_id] = now
        self._tell_listeners(Message(subject, data))

    def _tell_listeners(self, message: Message) -> None:
        groups: dict[str, list[asyncio.Queue[Message]]] = {}
        for subject_filter, group, inbox in self._listeners:
            if not matches(subject_filter, message.subject):
                continue
            if group is None:
                live.offer(inbox, message)
            else:
                groups.setdefault(group, []).append(inbox)
        for members in groups.values():
            live.offer(random.choice(members), message)  # noqa: S311 - spreading, not secrecy

    async def fetch(
        self,
        direction: names.Direction,
        tenant: str,
        env: str,
        *,
        batch: int = 1,
        wait: float = 1.0,
    ) -> list[_Delivery]:
        names.consumer_name(tenant, env, direction)  # refuses malformed ids, as on JetStream
        queue = self._queue(direction, tenant, env)
        deadline = self.now() + wait
        while True:
            found = self._take(queue, batch)
            remaining = deadline - self.now()
            if found or remaining <= 0 or self._closed:
                return found
            queue.ready.clear()
            pause = min(remaining, self._next_due(queue) - self.now())
            with suppress(TimeoutError):
                await asyncio.wait_for(queue.ready.wait(), timeout=max(pause, 0.001))

    def _take(self, queue: _Queue, batch: int) -> list[_Delivery]:
        now, found = self.now(), list[_Delivery]()
        for kept in queue.kept.values():
            if len(found) >= batch:
                break
            if kept.due > now:
                continue
            kept.attempts += 1
            kept.leased, kept.due = next(self._leases), now + self.limits.ack_wait
            found.append(_Delivery(self, queue, kept, kept.leased))
        return found

    def _next_due(self, queue: _Queue) -> float:
        return min((kept.due for kept in queue.kept.values()), default=float("inf"))

    def wake(self, queue: _Queue, *, after: float) -> None:
        asyncio.get_running_loop().call_later(max(after, 0.0), queue.ready.set)

    @asynccontextmanager
    async def listen(
        self, subject_filter: str, *, queue: str | None = None
    ) -> AsyncIterator[AsyncIterator[Message]]:
        names.check_any_filter(subject_filter, prefixes=(self.events_prefix, self.prefix))
        if queue is not None:
            names.check_queue_group(queue)
        inbox = live.inbox()
        entry = (subject_filter, queue, inbox)
        self._listeners.append(entry)
        try:
            yield live.drain(inbox)
        finally:
            self._listeners.remove(entry)

    async def close(self) -> None:
        self._closed = True
        for queue in self._queues.values():
            queue.ready.set()


def _forget_before(seen: OrderedDict[str, float], moment: float) -> None:
    while seen and next(iter(seen.values())) < moment:
        seen.popitem(last=False)

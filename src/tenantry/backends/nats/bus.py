"""The bus on NATS JetStream: durable publish and pull consumers, live core subscriptions.

One connection per process, reconnecting by itself; while it is down every call fails fast
with ``BusUnavailable`` (503). Publishing carries ``Nats-Msg-Id`` (confined to its tenant
environment by :func:`names.bus_message_id`) and waits for the stream's acknowledgement.
A tenant environment's share of its stream is enforced here, before publishing: the count of
its unacknowledged messages in a direction (its consumer's pending and ack-pending) is read
from the server when it may be near the limit or is older than a second, so far from the limit
a publish costs one round trip, and near it the refusal is exact. A fetch that may not wait
(``wait=0``, the pools' rounds) is one no-wait pull request, answered at once.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Final

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext, api
from nats.js.errors import APIError

from tenantry.backends.nats import events
from tenantry.backends.nats.errors import translated
from tenantry.core import names
from tenantry.runtime.messaging import live
from tenantry.runtime.messaging.errors import BusUnavailable, TenantBusFull
from tenantry.runtime.messaging.limits import BusLimits, backoff
from tenantry.runtime.messaging.ports import Message

REFRESH: Final = 1.0  # seconds a tenant's count is trusted far from its limit
NEAR: Final = 0.9  # from this share of the limit on, the count is read before each publish
_MIN_WAIT: Final = 0.05  # JetStream needs a positive pull expiry
_NONE_NOW: Final = frozenset(
    {api.StatusCode.NO_MESSAGES, api.StatusCode.REQUEST_TIMEOUT, api.StatusCode.CONFLICT}
)  # how a no-wait pull request ends short of its batch
_Key = tuple[names.Direction, str, str]


@dataclass(slots=True)
class _Count:
    kept: int = 0  # the server's count when read, plus what this process published since
    read_at: float = float("-inf")
    reading: asyncio.Lock = field(default_factory=asyncio.Lock)  # one read at a time


class _Delivery:
    """A JetStream message as a :class:`~tenantry.runtime.messaging.ports.Delivery`."""

    __slots__ = ("_msg", "attempt", "data", "subject")

    def __init__(self, msg: Msg) -> None:
        self._msg, self.subject, self.data = msg, msg.subject, msg.data
        self.attempt = msg.metadata.num_delivered

    # Settled once: a second ack, nak or term does nothing, as on the in-process bus.

    async def ack(self) -> None:
        if not self._msg.is_acked:
            with translated("acknowledging a delivery"):
                await self._msg.ack()

    async def nak(self, delay: float | None = None) -> None:
        wait = backoff(self.attempt) if delay is None else max(delay, 0.0)
        if not self._msg.is_acked:
            with translated("delivering a message again"):
                await self._msg.nak(delay=wait or None)

    async def term(self) -> None:
        if not self._msg.is_acked:
            with translated("terminating a delivery"):
                await self._msg.term()

    async def in_progress(self) -> None:
        if not self._msg.is_acked:
            with translated("extending a delivery"):
                await self._msg.in_progress()


class JetStreamBus:
    def __init__(
        self,
        servers: str,
        *,
        prefix: str = names.DEFAULT_SUBJECT_PREFIX,
        limits: BusLimits | None = None,
        now: Callable[[], float] = time.monotonic,
        timeout: float = 5.0,
        events_prefix: str = names.DEFAULT_EVENT_PREFIX,
        events_max_age: float = 7 * 86_400.0,
    ) -> None:
        self.prefix = names.check_subject_prefix(prefix)
        self.events_prefix = names.check_subject_prefix(events_prefix)
        self.limits = limits or BusLimits()
        self._events = events.EventStreamLimits(events_max_age, self.limits.dedup_window)
        self._events_ready: Client | None = None  # the connection that saw the stream exist
        self._servers, self._now, self._timeout = servers, now, timeout
        self._client: Client | None = None
        self._context: tuple[Client, JetStreamContext] | None = None
        self._connecting = asyncio.Lock()
        self._streams: dict[tuple[str, str], str] = {}  # (tenant, env) -> stream
        self._counts: dict[_Key, _Count] = {}
        self._pulls: dict[_Key, list[JetStreamContext.PullSubscription]] = {}
        self._inboxes: dict[_Key, list[Subscription]] = {}  # for no-wait pull requests
        self._closed = False

    async def _connected(self) -> Client:
        client = self._client
        if client is not None and client.is_connected:
            return client
        if self._closed:
            raise BusUnavailable("the NATS bus is closed")
        async with self._connecting:
            if self._client is not None and not self._client.is_closed:
                if self._client.is_connected:
                    return self._client
                raise BusUnavailable(f"NATS at {self._servers} is reconnecting")
            self._pulls.clear()  # bound to a connection that is gone
            self._inboxes.clear()
            with translated(f"connecting to NATS at {self._servers}"):
                self._client = await asyncio.wait_for(self._connect(), timeout=self._timeout)
            return self._client

    async def _connect(self) -> Client:
        try:
            client = await nats.connect(
                self._servers,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=1,  # a first connection fails fast...
                reconnect_time_wait=0.5,
                error_cb=_quiet,
            )
        except nats.errors.NoServersError as error:
            raise BusUnavailable(f"NATS is unavailable at {self._servers}") from error
        client.options["max_reconnect_attempts"] = -1  # ...an established one never gives up
        return client

    async def _js(self) -> JetStreamContext:
        client = await self._connected()
        if self._context is None or self._context[0] is not client:
            self._context = (client, client.jetstream(timeout=self._timeout))
        return self._context[1]

    async def publish(self, subject: str, data: bytes, *, message_id: str) -> None:
        direction, tenant, env = _parsed(subject, self.prefix)
        wire_id = names.bus_message_id(direction, tenant, env, message_id)
        key = (direction, tenant, env)
        await self._make_room(key)
        js = await self._js()
        with translated(f"publishing on {subject}"):
            ack = await js.publish(subject, data, headers={"Nats-Msg-Id": wire_id})
        if not ack.duplicate:
            self._counts.setdefault(key, _Count()).kept += 1

    async def publish_event(self, subject: str, data: bytes, *, message_id: str) -> None:
        names.parse_event_subject(subject, prefix=self.events_prefix)
        js = await self._js()
        client = self._client
        if self._events_ready is not client:
            with translated("making the events stream"):
                await events.ensure(js, self.events_prefix, self._events)
            self._events_ready = client
        with translated(f"publishing on {subject}"):
            await js.publish(subject, data, headers={"Nats-Msg-Id": message_id})

    async def _make_room(self, key: _Key) -> None:
        """Refuse with :class:`TenantBusFull` when the tenant environment's direction is full."""
        count, limit = self._counts.setdefault(key, _Count()), self.limits.max_msgs
        if self._doubtful(count):
            async with count.reading:
                if self._doubtful(count):
                    count.kept, count.read_at = await self._kept(key), self._now()
        if count.kept >= limit:
            direction, tenant, env = key
            raise TenantBusFull(
                f"tenant {tenant!r} environment {env!r} holds {count.kept} "
                f"{direction.value} messages, its limit",
                retry_after=1.0,
                details={"tenant_id": tenant, "env_id": env, "limit": limit},
            )

    def _doubtful(self, count: _Count) -> bool:
        """Whether the count must be read: old, or near enough the limit to matter."""
        near = count.kept + 1 > self.limits.max_msgs * NEAR
        return near or self._now() - count.read_at > REFRESH

    async def _kept(self, key: _Key) -> int:
        direction, tenant, env = key
        stream, js = await self._stream(tenant, env), await self._js()
        consumer = names.consumer_name(tenant, env, direction)
        try:
            with translated(f"counting {tenant}/{env} {direction.value} messages"):
                info = await js.consumer_info(stream, consumer)
        except BusUnavailable:
            self._streams.pop((tenant, env), None)  # moved to another stream, perhaps
            raise
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def _stream(self, tenant: str, env: str) -> str:
        """The stream holding the tenant environment: shared or dedicated, whichever lists its
        subjects (JetStream lets only one), remembered until a call on it fails."""
        found = self._streams.get((tenant, env))
        if found is None:
            js = await self._js()
            wildcard = names.subject_wildcard(tenant, env, prefix=self.prefix)
            with translated(f"finding the stream of {tenant}/{env}"):
                found = await js.find_stream_name_by_subject(wildcard)
            self._streams[(tenant, env)] = found
        return found

    async def fetch(
        self,
        direction: names.Direction,
        tenant: str,
        env: str,
        *,
        batch: int = 1,
        wait: float = 1.0,
    ) -> list[_Delivery]:
        if self._closed:
            return []
        key = (direction, tenant, env)
        if wait <= 0:
            return await self._fetch_now(key, max(batch, 1))
        pull = await self._pull(key)
        try:
            with translated(f"fetching {tenant}/{env} {direction.value} messages"):
                try:
                    found = await pull.fetch(max(batch, 1), timeout=max(wait, _MIN_WAIT))
                except TimeoutError:  # nats-py raises its own or asyncio's when none came
                    if self._client is None or not self._client.is_connected:
                        raise
                    found = []
        except BusUnavailable:
            await self._forget(key, pull)
            raise
        self._pulls.setdefault(key, []).append(pull)
        return [_Delivery(msg) for msg in found]

    async def _fetch_now(self, key: _Key, batch: int) -> list[_Delivery]:
        """What the key's consumer holds now, without waiting: one no-wait pull request,
        answered at once with up to ``batch`` messages, then a status if fewer. (nats-py's
        ``fetch`` always sends an expiry, and the server then holds a request to an empty
        consumer until it expires: a poll of many tenants would wait that long for each
        empty one.)"""
        direction, tenant, env = key
        client, stream = await self._connected(), await self._stream(tenant, env)
        inbox = await self._inbox(key, client)
        request = json.dumps({"batch": batch, "no_wait": True}).encode()
        subject = _next_subject(stream, names.consumer_name(tenant, env, direction))
        found: list[Msg] = []
        answered = False
        try:
            with translated(f"fetching {tenant}/{env} {direction.value} messages"):
                await client.publish(subject, request, reply=inbox.subject)
                while len(found) < batch:
                    msg = await inbox.next_msg(timeout=self._timeout)
                    status = JetStreamContext.is_status_msg(msg)
                    if status in _NONE_NOW:
                        break
                    if status is not None:
                        raise APIError.from_msg(msg)
                    found.append(msg)
            answered = True
        except BusUnavailable:
            self._streams.pop((tenant, env), None)
            if not found:
                raise
        finally:
            if answered:  # answered in full: reusable
                self._inboxes.setdefault(key, []).append(inbox)
            else:  # failed or cancelled: a late answer must not reach a later request
                with suppress(Exception):
                    await inbox.unsubscribe()
        return [_Delivery(msg) for msg in found]  # delivered to us: the caller settles them

    async def _inbox(self, key: _Key, client: Client) -> Subscription:
        """An inbox subscription for the key's no-wait requests that no other fetch uses."""
        idle = self._inboxes.get(key)
        if idle:
            return idle.pop()
        with translated("subscribing to an inbox"):
            return await client.subscribe(client.new_inbox())

    async def _forget(self, key: _Key, failed: JetStreamContext.PullSubscription) -> None:
        """After a failure: find the stream again next time, with new pull subscriptions."""
        _, tenant, env = key
        self._streams.pop((tenant, env), None)
        for pull in [failed, *self._pulls.pop(key, [])]:
            with suppress(Exception):  # the connection may have dropped them already
                await pull.unsubscribe()

    async def _pull(self, key: _Key) -> JetStreamContext.PullSubscription:
        """A pull subscription on the key's consumer that no other fetch is using."""
        idle = self._pulls.get(key)
        if idle:
            return idle.pop()
        direction, tenant, env = key
        consumer = names.consumer_name(tenant, env, direction)
        stream, js = await self._stream(tenant, env), await self._js()
        with translated(f"reading {consumer}"):
            return await js.pull_subscribe_bind(durable=consumer, stream=stream)

    @asynccontextmanager
    async def listen(
        self, subject_filter: str, *, queue: str | None = None
    ) -> AsyncIterator[AsyncIterator[Message]]:
        names.check_any_filter(subject_filter, prefixes=(self.events_prefix, self.prefix))
        group = "" if queue is None else names.check_queue_group(queue)
        client = await self._connected()
        inbox = live.inbox()

        async def arrived(msg: Msg) -> None:
            live.offer(inbox, Message(msg.subject, msg.data))

        with translated(f"listening on {subject_filter}"):
            subscription = await client.subscribe(subject_filter, queue=group, cb=arrived)
            await client.flush(timeout=int(self._timeout))  # listening once this returns
        try:
            yield live.drain(inbox)
        finally:
            with suppress(Exception):  # a closed connection has dropped it already
                await subscription.unsubscribe()

    async def close(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        self._pulls.clear()
        self._inboxes.clear()
        if client is not None and not client.is_closed:
            with suppress(Exception):  # closing a dead connection may fail; it is gone anyway
                await client.close()


@functools.lru_cache(maxsize=4096)
def _parsed(subject: str, prefix: str) -> tuple[names.Direction, str, str]:
    """A subject's direction and tenant environment (a bus sees few subjects, many times;
    a refused subject raises every time, as errors are not cached)."""
    direction, tenant, env, _, _ = names.parse_subject(subject, prefix=prefix)
    return direction, tenant, env


def _next_subject(stream: str, consumer: str) -> str:
    """JetStream's API subject for pull requests on a consumer (as nats-py builds it; both
    names come from the stream lookup and :func:`names.consumer_name`)."""
    return f"{api.DEFAULT_PREFIX}.CONSUMER.MSG.NEXT.{stream}.{consumer}"


async def _quiet(error: Exception) -> None:
    """nats-py logs every failed connect attempt itself; callers get ``BusUnavailable``."""

"""Messaging resources on NATS JetStream.

mt-standard: shared streams (a fixed number of shards, the tenant environment's shard derived
from its ids by ``Layout``) whose subjects list each tenant environment's wildcard
(``{prefix}.*.{env}.{tenant}.>``; JetStream forbids overlapping streams, so a shared stream
names its tenants rather than covering everything, and shards keep each list short).
st-dedicated: a stream per tenant environment. On both, one durable consumer per direction of
each tenant environment (ingress, egress, dead letters; disjoint filters), so a runner reading
ingress never reads replies. New streams are work queues (an acknowledged message is gone) that
discard nothing: a full stream refuses new messages. Every call is idempotent; concurrent
additions to a shared stream in this process go in one update, and one lost to another process
shows up as "not existing" on the next reconcile and is repaired then.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from tenantry.core import names
from tenantry.core.errors import Unavailable
from tenantry.tenancy.controller.resources import Kind, Resource
from tenantry.tenancy.isolation.placement import Messaging, Placement
from tenantry.tenancy.isolation.strategies import Layout


class NatsUnavailable(Unavailable):
    code = "nats.unavailable"


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """A stream's own limits (a shared stream's are one pool for all its tenants: each tenant's
    share is enforced by the bus when publishing), and its consumers' acknowledgement wait."""

    max_bytes: int = 1024**3
    max_msgs: int = 1_000_000
    max_age_seconds: float = 7 * 24 * 3600
    max_msg_size: int = 1024**2
    duplicate_window_seconds: float = 120.0
    ack_wait_seconds: float = 30.0


DIRECTIONS = tuple(names.Direction)


class JetStreamProvisioner:
    kind = Kind.MESSAGING

    def __init__(
        self,
        servers: str,
        *,
        layout: Layout,
        limits: StreamLimits | None = None,
    ) -> None:
        self._servers, self._layout = servers, layout
        self._prefix, self._limits = layout.subject_prefix, limits or StreamLimits()
        self._client: Client | None = None
        self._connecting = asyncio.Lock()
        self._updates: dict[str, asyncio.Lock] = {}  # one per shared stream
        self._adding: dict[str, set[str]] = {}

    def wanted(self, placement: Placement) -> Resource:
        tenant, env = placement.tenant_id, placement.env_id
        mode = placement.messaging.mode
        name = (
            names.consumer_name(tenant, env)
            if mode is Messaging.SHARED_STREAM
            else placement.messaging.stream
        )
        return Resource(Kind.MESSAGING, name, tenant, env, mode.value)

    @asynccontextmanager
    async def _js(self) -> AsyncIterator[JetStreamContext]:
        """JetStream on the provisioner's one connection, made (again) when it is not up."""
        client = await self._connected()
        try:
            yield client.jetstream(timeout=5)
        except (
            nats.errors.ConnectionClosedError,
            nats.errors.TimeoutError,
            nats.errors.NoRespondersError,
        ) as error:
            await self.close()
            raise NatsUnavailable(f"lost NATS at {self._servers}: {error}") from error

    async def _connected(self) -> Client:
        async with self._connecting:
            if self._client is not None and self._client.is_connected:
                return self._client
            await self.close()
            try:
                self._client = await asyncio.wait_for(
                    nats.connect(
                        self._servers,
                        connect_timeout=2,
                        allow_reconnect=False,
                        max_reconnect_attempts=1,
                        error_cb=_quiet,
                    ),
                    timeout=5,
                )
            except (OSError, TimeoutError, nats.errors.NoServersError) as error:
                raise NatsUnavailable(f"NATS is unavailable at {self._servers}: {error}") from error
            return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and not client.is_closed:
            with suppress(Exception):  # closing a dead connection may fail; it is gone anyway
                await client.close()

    def _wildcard(self, resource: Resource) -> str:
        return names.subject_wildcard(resource.tenant_id, str(resource.env_id), prefix=self._prefix)

    def _shared(self, resource: Resource) -> str:
        return self._layout.shared_stream_of(resource.tenant_id, str(resource.env_id))

    def _stream(self, resource: Resource) -> str:
        if resource.variant == Messaging.DEDICATED_STREAM:
            return resource.name
        return self._shared(resource)

    async def exists(self, resource: Resource) -> bool:
        """The stream covers the tenant environment and its three consumers read one direction
        each (a consumer of the older single wildcard filter is not the wanted one)."""
        stream = self._stream(resource)
        async with self._js() as js:
            try:
                info = await js.stream_info(stream)
                for direction, wanted in self._consumers(resource).items():
                    found = await js.consumer_info(
                        stream, names.consumer_name(*_pair(resource), direction)
                    )
                    if not _same_consumer(found.config, wanted):
                        return False
            except NotFoundError:
                return False
        return self._current(info.config) and self._wildcard(resource) in (
            info.config.subjects or []
        )

    def _current(self, config: StreamConfig) -> bool:
        """Whether a stream has the wanted limits (older streams discarded the oldest)."""
        limits = self._limits
        return (
            config.discard == DiscardPolicy.NEW
            and config.max_msg_size == limits.max_msg_size
            and _close(config.duplicate_window, limits.duplicate_window_seconds)
        )

    async def ensure(self, resource: Resource) -> None:
        async with self._js() as js:
            stream = self._stream(resource)
            if resource.variant == Messaging.DEDICATED_STREAM:
                await self._put_stream(js, stream, [self._wildcard(resource)])
            else:
                await self._add_shared_subject(js, stream, self._wildcard(resource))
            for config in self._consumers(resource).values():
                await js.add_consumer(stream, config)  # creates, or updates the filter

    def _consumers(self, resource: Resource) -> dict[names.Direction, ConsumerConfig]:
        """One durable pull consumer per direction; redelivery is unbounded here because the
        runner itself dead-letters after ``max_deliveries`` (it sees each delivery's attempt)."""
        tenant, env = _pair(resource)
        return {
            direction: ConsumerConfig(
                durable_name=names.consumer_name(tenant, env, direction),
                filter_subject=names.subject_filter(direction, tenant, env, prefix=self._prefix),
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self._limits.ack_wait_seconds,
                max_deliver=-1,
                max_ack_pending=-1,
            )
            for direction in DIRECTIONS
        }

    async def retire(self, resource: Resource) -> None:
        async with self._js() as js:
            if resource.variant == Messaging.DEDICATED_STREAM:
                await _ignore_missing(js.delete_stream(resource.name))
                return
            stream = self._shared(resource)
            for direction in DIRECTIONS:
                consumer = names.consumer_name(*_pair(resource), direction)
                await _ignore_missing(js.delete_consumer(stream, consumer))
            async with self._updates.setdefault(stream, asyncio.Lock()):
                await self._drop_shared_subject(js, stream, self._wildcard(resource))

    async def _put_stream(self, js: JetStreamContext, name: str, subjects: list[str]) -> None:
        limits = self._limits
        config = StreamConfig(
            name=name,
            subjects=subjects,
            storage=StorageType.FILE,
            retention=RetentionPolicy.WORK_QUEUE,
            discard=DiscardPolicy.NEW,
            max_bytes=limits.max_bytes,
            max_msgs=limits.max_msgs,
            max_age=limits.max_age_seconds,
            max_msg_size=limits.max_msg_size,
            duplicate_window=limits.duplicate_window_seconds,
        )
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(config)
            return
        # JetStream cannot change a stream's retention: a stream made before work queues keeps
        # its own (acknowledged messages then age out instead of going at once).
        config.retention = info.config.retention
        await js.update_stream(config)

    async def _add_shared_subject(self, js: JetStreamContext, stream: str, subject: str) -> None:
        """Add a subject to a shared stream; concurrent additions go in one update."""
        pending = self._adding.setdefault(stream, set())
        pending.add(subject)
        async with self._updates.setdefault(stream, asyncio.Lock()):
            if subject not in pending:
                return  # an update made while we waited carried it
            batch = set(pending)
            pending.clear()
            try:
                config = (await js.stream_info(stream)).config
            except NotFoundError:
                config = StreamConfig(subjects=[])
            subjects = list(config.subjects or [])
            if not batch <= set(subjects) or not self._current(config):
                await self._put_stream(js, stream, sorted({*subjects, *batch}))

    async def _drop_shared_subject(self, js: JetStreamContext, stream: str, subject: str) -> None:
        subjects = await _subjects(js, stream)
        if subject not in subjects:
            return
        await js.purge_stream(stream, subject=subject)  # the tenant's messages go too
        remaining = [s for s in subjects if s != subject]
        if remaining:
            await self._put_stream(js, stream, remaining)
        else:
            await _ignore_missing(js.delete_stream(stream))


def _same_consumer(found: ConsumerConfig, wanted: ConsumerConfig) -> bool:
    return found.filter_subject == wanted.filter_subject and _close(found.ack_wait, wanted.ack_wait)


def _close(found: float | None, wanted: float | None) -> bool:
    return found is not None and wanted is not None and abs(found - wanted) < 0.001


def _pair(resource: Resource) -> tuple[str, str]:
    return resource.tenant_id, str(resource.env_id)


async def _subjects(js: JetStreamContext, stream: str) -> list[str]:
    try:
        return list((await js.stream_info(stream)).config.subjects or [])
    except NotFoundError:
        return []


async def _quiet(error: Exception) -> None:
    """nats-py logs every failed connect attempt itself; the caller reports the outcome once."""


async def _ignore_missing(call: Awaitable[object]) -> None:
    with suppress(NotFoundError):
        await call

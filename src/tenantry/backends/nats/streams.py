"""Messaging resources on NATS JetStream.

mt-standard: shared streams (a fixed number of shards, the tenant environment's shard derived
from its ids by ``Layout``) whose subjects list each tenant environment's wildcard
(``{prefix}.*.{env}.{tenant}.>``; JetStream forbids overlapping streams, so a shared stream
names its tenants rather than covering everything, and shards keep each list short), plus a
durable consumer per tenant environment filtered on that wildcard. st-dedicated: a stream per
tenant environment with its own limits. Every call is idempotent; concurrent additions to a
shared stream in this process go in one update, and one lost to another process shows up as
"not existing" on the next reconcile and is repaired then.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
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
    max_bytes: int = 1024**3
    max_msgs: int = 1_000_000
    max_age_seconds: float = 7 * 24 * 3600


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

    async def exists(self, resource: Resource) -> bool:
        async with self._js() as js:
            try:
                if resource.variant == Messaging.DEDICATED_STREAM:
                    await js.stream_info(resource.name)
                    return True
                info = await js.stream_info(self._shared(resource))
                await js.consumer_info(self._shared(resource), resource.name)
            except NotFoundError:
                return False
        return self._wildcard(resource) in (info.config.subjects or [])

    async def ensure(self, resource: Resource) -> None:
        async with self._js() as js:
            if resource.variant == Messaging.DEDICATED_STREAM:
                await self._put_stream(js, resource.name, [self._wildcard(resource)])
                return
            stream = self._shared(resource)
            await self._add_shared_subject(js, stream, self._wildcard(resource))
            await js.add_consumer(
                stream,
                ConsumerConfig(
                    durable_name=resource.name,
                    filter_subject=self._wildcard(resource),
                    ack_policy=AckPolicy.EXPLICIT,
                ),
            )

    async def retire(self, resource: Resource) -> None:
        async with self._js() as js:
            if resource.variant == Messaging.DEDICATED_STREAM:
                await _ignore_missing(js.delete_stream(resource.name))
                return
            stream = self._shared(resource)
            await _ignore_missing(js.delete_consumer(stream, resource.name))
            async with self._updates.setdefault(stream, asyncio.Lock()):
                await self._drop_shared_subject(js, stream, self._wildcard(resource))

    async def _put_stream(self, js: JetStreamContext, name: str, subjects: list[str]) -> None:
        limits = self._limits
        config = StreamConfig(
            name=name,
            subjects=subjects,
            storage=StorageType.FILE,
            max_bytes=limits.max_bytes,
            max_msgs=limits.max_msgs,
            max_age=limits.max_age_seconds,
        )
        try:
            await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(config)
            return
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
            subjects = await _subjects(js, stream)
            if not batch <= set(subjects):
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

"""The anchor of ``bench/messaging.py``: the same hops on bare nats-py JetStream.

A stream of its own (file storage, a deduplication window, explicit acknowledgement) with a
durable pull consumer per tenant and direction, filtered like Tenantry's. The load publishes an
ingress message with ``Nats-Msg-Id`` and waits for the ack; the worker (``python -m
bench.messaging_raw STREAM PREFIX TENANTS...``, one or more processes) fetches it, decodes the
JSON, publishes the reply on egress with ack, and acks the ingress message; the load fetches the
reply from egress and acks it. No envelope checks, no session, no flow, no limits.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress

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

NATS_URL = "nats://127.0.0.1:4222"
REPLY = "Welcome to ACME Support! How can I help?"
ENV, TEAM, CHANNEL = "prod", "default", "webchat"


def subject(prefix: str, direction: str, tenant: str) -> str:
    return f"{prefix}.{direction}.{ENV}.{tenant}.{TEAM}.{CHANNEL}"


def durable(direction: str, tenant: str) -> str:
    return f"{direction}_{tenant}"


async def connect() -> Client:
    return await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=3)


async def provision(js: JetStreamContext, stream: str, prefix: str, tenants: Sequence[str]) -> None:
    """The anchor's stream and its consumers (a consumer per tenant and direction)."""
    await js.add_stream(
        StreamConfig(
            name=stream,
            subjects=[f"{prefix}.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.WORK_QUEUE,  # as Tenantry's streams
            discard=DiscardPolicy.NEW,
            duplicate_window=120.0,
        )
    )
    for tenant in tenants:
        for direction in ("ingress", "egress"):
            await js.add_consumer(
                stream,
                ConsumerConfig(
                    durable_name=durable(direction, tenant),
                    filter_subject=f"{prefix}.{direction}.{ENV}.{tenant}.>",
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=30.0,
                    max_ack_pending=-1,
                ),
            )


async def remove(stream: str) -> None:
    client = await connect()
    try:
        with suppress(Exception):
            await client.jetstream().delete_stream(stream)
    finally:
        await client.close()


class RawSide:
    """The load's end of the anchor: publish ingress with ack, fetch replies from egress."""

    def __init__(self, stream: str, prefix: str, tenants: Sequence[str]) -> None:
        self.stream, self.prefix, self.tenants = stream, prefix, list(tenants)
        self._client: Client | None = None
        self._readers: list[asyncio.Task[None]] = []

    async def start(self, on_reply: Callable[[str], None]) -> None:
        self._client = await connect()
        js = self._client.jetstream()
        for tenant in self.tenants:
            sub = await js.pull_subscribe_bind(durable("egress", tenant), self.stream)
            self._readers.append(asyncio.create_task(_replies(sub, on_reply)))

    async def send(self, tenant: str, session: str, key: str, text: str) -> None:
        assert self._client is not None
        body = json.dumps({"id": key, "tenant": tenant, "session": session, "text": text})
        await self._client.jetstream().publish(
            subject(self.prefix, "ingress", tenant), body.encode(), headers={"Nats-Msg-Id": key}
        )

    async def stop(self) -> None:
        for reader in self._readers:
            reader.cancel()
        for reader in self._readers:
            with suppress(asyncio.CancelledError):
                await reader
        self._readers = []
        if self._client is not None:
            await self._client.close()


async def _replies(sub: JetStreamContext.PullSubscription, on_reply: Callable[[str], None]) -> None:
    while True:
        try:
            messages = await sub.fetch(64, timeout=1.0)
        except (nats.errors.TimeoutError, TimeoutError):
            continue
        for message in messages:
            on_reply(json.loads(message.data)["in_reply_to"])
            await message.ack()


async def _handle(js: JetStreamContext, message: nats.aio.msg.Msg) -> None:
    body = json.loads(message.data)
    reply = {"in_reply_to": body["id"], "tenant": body["tenant"], "text": REPLY}
    egress = message.subject.replace(".ingress.", ".egress.", 1)
    await js.publish(egress, json.dumps(reply).encode(), headers={"Nats-Msg-Id": body["id"] + ":0"})
    await message.ack()


async def _serve_tenant(
    js: JetStreamContext, stream: str, tenant: str, batch: int, stopping: asyncio.Event
) -> None:
    sub = await js.pull_subscribe_bind(durable("ingress", tenant), stream)
    while not stopping.is_set():
        try:
            messages = await sub.fetch(batch, timeout=0.5)
        except (nats.errors.TimeoutError, TimeoutError):
            continue
        await asyncio.gather(*(_handle(js, m) for m in messages))


async def work(stream: str, tenants: Sequence[str], batch: int) -> None:
    """The anchor's worker: every tenant's ingress, ``batch`` messages at a time, until a
    SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    client = await connect()
    js = client.jetstream()
    loops: list[Awaitable[None]] = [
        _serve_tenant(js, stream, tenant, batch, stopping) for tenant in tenants
    ]
    print("ready", flush=True)
    await asyncio.gather(*loops)
    await client.close()


if __name__ == "__main__":
    _stream, _batch, *_tenants = sys.argv[1:]
    asyncio.run(work(_stream, _tenants, int(_batch)))

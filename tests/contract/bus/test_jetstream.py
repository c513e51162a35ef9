"""What only the JetStream bus has: a server that can be down, streams that can fill, and the
consumers the controller provisions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DiscardPolicy, RetentionPolicy, StreamConfig

from tenantry.backends.nats.bus import JetStreamBus
from tenantry.backends.nats.errors import NotProvisioned
from tenantry.backends.nats.streams import StreamLimits
from tenantry.core import names
from tenantry.runtime.messaging.errors import BusUnavailable, TenantBusFull
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.manifests.schemas import Profile
from tests.conftest import NATS_URL
from tests.contract.bus.support import ACK_WAIT, Harness, unique

pytestmark = pytest.mark.postgres
INGRESS = names.Direction.INGRESS


@pytest.fixture(params=["nats-shared", "nats-dedicated"])
async def nats_harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    made = Harness(request.param)
    yield made
    await made.close()


async def test_an_unreachable_server_is_unavailable() -> None:
    bus = JetStreamBus("nats://127.0.0.1:1", timeout=3)
    subject = names.subject(INGRESS, "acme", "prod", None, "webchat")
    with pytest.raises(BusUnavailable):
        await bus.publish(subject, b"{}", message_id="m1")
    with pytest.raises(BusUnavailable):
        await bus.fetch(INGRESS, "acme", "prod", wait=0.1)
    with pytest.raises(BusUnavailable):
        async with bus.listen(subject):
            pass
    await bus.close()


async def test_a_tenant_without_streams_is_not_provisioned() -> None:
    bus = JetStreamBus(NATS_URL, prefix=f"{unique('bt')}.messaging")
    subject = names.subject(INGRESS, unique(), "prod", None, "webchat", prefix=bus.prefix)
    with pytest.raises(NotProvisioned) as refused:
        await bus.publish(subject, b"{}", message_id="m1")
    assert refused.value.kind.value == "unavailable"
    await bus.close()


async def test_a_full_stream_refuses_and_discards_nothing() -> None:
    harness = Harness("nats-dedicated")
    harness.stream_limits = StreamLimits(max_msgs=2, ack_wait_seconds=ACK_WAIT)
    try:
        bus, tenant = harness.bus(max_msgs=100), await harness.tenant()
        kept = [await harness.send(bus, tenant, f"m{i}") for i in range(2)]
        with pytest.raises(BusUnavailable) as refused:
            await harness.send(bus, tenant, "too many")
        assert refused.value.code == "messaging.stream_full"
        assert not isinstance(refused.value, TenantBusFull)
        found = await bus.fetch(INGRESS, tenant, "prod", batch=5, wait=1)
        assert [d.data for d in found] == [e.encode() for e in kept]
    finally:
        await harness.close()


async def test_consumers_read_one_direction_each_and_acked_messages_leave(
    nats_harness: Harness,
) -> None:
    bus, tenant = nats_harness.bus(), await nats_harness.tenant()
    stream = await _stream(nats_harness, tenant)
    client = await nats.connect(NATS_URL)
    try:
        js = client.jetstream()
        for direction in names.Direction:
            info = await js.consumer_info(stream, names.consumer_name(tenant, "prod", direction))
            assert info.config.filter_subject == names.subject_filter(
                direction, tenant, "prod", prefix=nats_harness.prefix
            )
            assert info.config.ack_policy == AckPolicy.EXPLICIT
        config = (await js.stream_info(stream)).config
        assert (config.retention, config.discard) == (
            RetentionPolicy.WORK_QUEUE,
            DiscardPolicy.NEW,
        )
        await nats_harness.send(bus, tenant)
        [delivery] = await bus.fetch(INGRESS, tenant, "prod", wait=2)
        await delivery.ack()  # sent without waiting for the server: the message leaves soon
        assert await _messages_left(js, stream, until=0) == 0
    finally:
        await client.close()


async def test_streams_and_consumers_made_before_the_bus_are_reprovisioned(
    nats_harness: Harness,
) -> None:
    """As an older deployment left them: a stream discarding its oldest messages, and one
    consumer of the tenant environment's whole wildcard (which would read its own replies)."""
    tenant, layout = unique(), nats_harness.layout
    profile = (
        Profile.ST_DEDICATED if nats_harness.backend == "nats-dedicated" else Profile.MT_STANDARD
    )
    provisioner = nats_harness.provisioner()
    resource = provisioner.wanted(place(profile, tenant, "prod", layout))
    nats_harness.resources.append(resource)
    stream = (
        names.stream_name(tenant, "prod")
        if profile is Profile.ST_DEDICATED
        else layout.shared_stream_of(tenant, "prod")
    )
    wildcard = names.subject_wildcard(tenant, "prod", prefix=nats_harness.prefix)
    client = await nats.connect(NATS_URL)
    try:
        js = client.jetstream()
        await js.add_stream(
            StreamConfig(name=stream, subjects=[wildcard], discard=DiscardPolicy.OLD)
        )
        legacy = names.consumer_name(tenant, "prod")
        await js.add_consumer(
            stream,
            ConsumerConfig(
                durable_name=legacy, filter_subject=wildcard, ack_policy=AckPolicy.EXPLICIT
            ),
        )
        assert not await provisioner.exists(resource)
        await provisioner.ensure(resource)
        assert await provisioner.exists(resource)
        config = (await js.stream_info(stream)).config
        assert (config.discard, config.retention) == (DiscardPolicy.NEW, RetentionPolicy.LIMITS)
        info = await js.consumer_info(stream, legacy)
        assert info.config.filter_subject == names.subject_filter(
            INGRESS, tenant, "prod", prefix=nats_harness.prefix
        )
    finally:
        await client.close()
        await provisioner.close()


async def _stream(harness: Harness, tenant: str) -> str:
    if harness.backend == "nats-dedicated":
        return names.stream_name(tenant, "prod")
    return harness.layout.shared_stream_of(tenant, "prod")


async def _messages_left(js: JetStreamContext, stream: str, *, until: int) -> int:
    """The stream's message count once it is ``until``, or after 5 s of looking."""
    left = -1
    for _ in range(100):
        left = (await js.stream_info(stream)).state.messages
        if left == until:
            break
        await asyncio.sleep(0.05)
    return left

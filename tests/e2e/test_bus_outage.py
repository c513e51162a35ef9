"""The JetStream bus while its NATS server goes away and comes back: 503s at once while it is
down, nothing stored is lost, and the same bus (one reconnecting connection) carries on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantry.backends.nats.bus import JetStreamBus
from tenantry.backends.nats.streams import JetStreamProvisioner
from tenantry.core import names
from tenantry.runtime.messaging.errors import BusUnavailable
from tenantry.tenancy.isolation.strategies import Layout, place
from tenantry.tenancy.manifests.schemas import Profile
from tests.e2e.test_outage import NatsServer

pytestmark = pytest.mark.postgres
INGRESS = names.Direction.INGRESS


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    made = NatsServer(tmp_path / "nats")
    made.start()
    yield made
    made.stop()


async def _published(bus: JetStreamBus, subject: str, message_id: str) -> None:
    """Publish, retrying while the connection comes back."""
    for _ in range(100):
        try:
            await bus.publish(subject, message_id.encode(), message_id=message_id)
            return
        except BusUnavailable:
            await asyncio.sleep(0.1)
    raise AssertionError("the bus never came back")


async def test_the_bus_survives_an_outage(server: NatsServer) -> None:
    provisioner = JetStreamProvisioner(server.url, layout=Layout())
    resource = provisioner.wanted(place(Profile.MT_STANDARD, "acme", "prod"))
    await provisioner.ensure(resource)
    await provisioner.close()
    bus = JetStreamBus(server.url, timeout=2)
    subject = names.subject(INGRESS, "acme", "prod", None, "webchat")
    try:
        await bus.publish(subject, b"before", message_id="before")
        async with bus.listen(subject) as heard:
            server.stop()
            with pytest.raises(BusUnavailable):
                await asyncio.wait_for(bus.publish(subject, b"x", message_id="down"), 5)
            server.start()
            await _published(bus, subject, "after")
            assert (await asyncio.wait_for(anext(heard), 5)).data == b"after"
        found = await bus.fetch(INGRESS, "acme", "prod", batch=10, wait=2)
        assert [d.data for d in found] == [b"before", b"after"]
        for delivery in found:
            await delivery.ack()
    finally:
        await bus.close()

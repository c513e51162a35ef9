"""``Bus.publish_event`` on both buses: live listeners get each event id once, subjects outside
the events prefix are refused, and on NATS the events stream keeps one copy of each id."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import nats
import pytest

from tenantry.backends.memory.bus import InProcessBus
from tenantry.backends.nats.bus import JetStreamBus
from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.runtime.messaging.limits import BusLimits
from tenantry.runtime.messaging.ports import Bus, Message
from tests.conftest import NATS_URL
from tests.contract.bus.support import unique


@pytest.fixture(params=["memory", pytest.param("nats", marks=pytest.mark.postgres)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    prefix = f"{unique('ev')}.events"
    limits = BusLimits(dedup_window=60.0)
    made: Bus = (
        JetStreamBus(NATS_URL, limits=limits, events_prefix=prefix)
        if request.param == "nats"
        else InProcessBus(limits=limits, events_prefix=prefix)
    )
    try:
        yield made
    finally:
        await made.close()
        if request.param == "nats":
            client = await nats.connect(NATS_URL)
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await client.jetstream().delete_stream(names.events_stream(prefix))
            await client.close()


async def _taken(messages: AsyncIterator[Message], count: int) -> list[Message]:
    found = []
    for _ in range(count):
        found.append(await asyncio.wait_for(anext(messages), timeout=2))
    return found


async def test_an_event_reaches_its_tenant_listeners_only(bus: Bus) -> None:
    acme = names.event_subject("acme", "tenancy.tenant.created", prefix=bus.events_prefix)
    globex = names.event_subject("globex", "tenancy.tenant.created", prefix=bus.events_prefix)
    async with (
        bus.listen(names.event_filter("acme", prefix=bus.events_prefix)) as mine,
        bus.listen(names.event_filter("globex", prefix=bus.events_prefix)) as theirs,
    ):
        await bus.publish_event(acme, b'{"n": 1}', message_id="a" * 32)
        await bus.publish_event(globex, b'{"n": 2}', message_id="b" * 32)
        assert [m.data for m in await _taken(mine, 1)] == [b'{"n": 1}']
        assert [m.subject for m in await _taken(theirs, 1)] == [globex]
        with pytest.raises(TimeoutError):
            await _taken(mine, 1)


async def test_an_event_id_is_kept_once(bus: Bus) -> None:
    subject = names.event_subject("acme", "tenancy.tenant.updated", prefix=bus.events_prefix)
    for _ in range(3):
        await bus.publish_event(subject, b"{}", message_id="c" * 32)
    await bus.publish_event(subject, b"{}", message_id="d" * 32)
    if isinstance(bus, JetStreamBus):
        client = await nats.connect(NATS_URL)
        info = await client.jetstream().stream_info(names.events_stream(bus.events_prefix))
        await client.close()
        assert info.state.messages == 2


@pytest.mark.parametrize(
    "subject",
    [
        "greentic.messaging.ingress.prod.acme.default.webchat",
        "tenantry.events.acme.tenancy.tenant.created",  # another prefix than the bus's
        "{prefix}.ACME.tenancy.tenant.created",
        "{prefix}.acme.tenancy.tenant.created\r\nPUB x",
    ],
)
async def test_a_subject_outside_the_events_prefix_is_refused(bus: Bus, subject: str) -> None:
    with pytest.raises(InvalidInput):
        await bus.publish_event(
            subject.format(prefix=bus.events_prefix), b"{}", message_id="e" * 32
        )

"""The envelope and the in-process bus, at their simplest (the bus contract suite holds more)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tenantry.backends.memory.bus import BusLimits, InProcessBus
from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope, reply_id
from tenantry.runtime.messaging.errors import EnvelopeInvalid, EnvelopeMismatch, TenantBusFull

INGRESS = names.Direction.INGRESS
PREFIX = names.DEFAULT_SUBJECT_PREFIX


def envelope(**fields: object) -> Envelope:
    base: dict[str, object] = {
        "message_id": "m1",
        "tenant_id": "acme",
        "env_id": "prod",
        "team_id": "support",
        "channel_id": "webchat",
        "session_id": "s1",
        "user_id": "u1",
        "text": "hello",
        "sent_at": datetime(2026, 12, 6, tzinfo=UTC),
    }
    return Envelope.of(**(base | fields))


def test_an_envelope_round_trips_and_checks_its_subject() -> None:
    sent = envelope()
    assert Envelope.decode(sent.encode()) == sent
    subject = sent.subject(INGRESS, prefix=PREFIX)
    assert subject == "greentic.messaging.ingress.prod.acme.support.webchat"
    assert sent.check_subject(subject, prefix=PREFIX) is INGRESS
    other = names.subject(INGRESS, "bigcorp", "prod", "support", "webchat")
    with pytest.raises(EnvelopeMismatch, match="tenant_id"):
        sent.check_subject(other, prefix=PREFIX)


@pytest.mark.parametrize("bad", ["a.b", "a*", ">", "a b", "a\r\nb", "A"])
def test_an_envelope_refuses_ids_that_could_reach_the_wire(bad: str) -> None:
    with pytest.raises(EnvelopeInvalid):
        envelope(tenant_id=bad)
    with pytest.raises(EnvelopeInvalid):
        envelope(session_id=bad)


def test_reply_ids_are_stable_and_distinct() -> None:
    assert reply_id("m1", 0) == reply_id("m1", 0) != reply_id("m1", 1)
    assert len(reply_id("a" * 64, 3)) <= 64


async def test_the_in_process_bus_delivers_until_acknowledged() -> None:
    bus = InProcessBus(limits=BusLimits(max_msgs=2))
    sent = envelope()
    subject = sent.subject(INGRESS, prefix=PREFIX)
    await bus.publish(subject, sent.encode(), message_id="m1")
    await bus.publish(subject, sent.encode(), message_id="m1")  # deduplicated
    (first,) = await bus.fetch(INGRESS, "acme", "prod", batch=5, wait=0.01)
    assert Envelope.decode(first.data) == sent and first.attempt == 1
    assert await bus.fetch(INGRESS, "acme", "prod", wait=0.01) == []
    await first.nak(0)
    (again,) = await bus.fetch(INGRESS, "acme", "prod", wait=0.5)
    assert again.attempt == 2
    await again.ack()
    assert await bus.fetch(INGRESS, "acme", "prod", wait=0.01) == []
    assert await bus.fetch(INGRESS, "bigcorp", "prod", wait=0.01) == []


async def test_the_in_process_bus_refuses_past_a_tenants_limit() -> None:
    bus = InProcessBus(limits=BusLimits(max_msgs=1))
    subject = envelope().subject(INGRESS, prefix=PREFIX)
    await bus.publish(subject, b"{}", message_id="m1")
    with pytest.raises(TenantBusFull):
        await bus.publish(subject, b"{}", message_id="m2")
    other = names.subject(INGRESS, "bigcorp", "prod", None, "webchat")
    await bus.publish(other, b"{}", message_id="m2")  # another tenant's share is its own


async def test_live_listeners_match_wildcards() -> None:
    bus = InProcessBus()
    egress = names.subject(names.Direction.EGRESS, "acme", "prod", "support", "webchat")
    async with bus.listen(f"{PREFIX}.egress.prod.acme.>") as messages:
        await bus.publish(egress, b"x", message_id="r1")
        got = await asyncio.wait_for(anext(messages), 1)
    assert got.subject == egress

"""Durable reading: at least once, settled by ack/nak/term, one direction of one tenant
environment per consumer, deduplicated by message id."""

from __future__ import annotations

import asyncio

import pytest

from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.errors import BusUnavailable, TenantBusFull
from tests.contract.bus.support import ACK_WAIT, Harness

INGRESS, EGRESS, DEAD = names.Direction.INGRESS, names.Direction.EGRESS, names.Direction.DEAD_LETTER


def _ids(deliveries: object) -> list[str]:
    return [Envelope.decode(d.data).message_id for d in deliveries]  # type: ignore[attr-defined]


async def test_published_is_fetched_once_acknowledged(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    sent = await harness.send(bus, tenant, "hi")
    [delivery] = await bus.fetch(INGRESS, tenant, "prod", wait=2)
    assert delivery.attempt == 1
    assert delivery.subject == harness.subject(tenant)
    assert Envelope.decode(delivery.data) == sent
    await delivery.ack()
    await delivery.ack()  # settling twice does nothing
    assert await bus.fetch(INGRESS, tenant, "prod", wait=0.2) == []


async def test_fetch_waits_and_returns_nothing_when_nothing_comes(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    assert await bus.fetch(INGRESS, tenant, "prod", wait=0.1) == []


async def test_a_batch_returns_what_is_there_in_order(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    sent = [(await harness.send(bus, tenant, f"m{i}")).message_id for i in range(3)]
    found = await bus.fetch(INGRESS, tenant, "prod", batch=5, wait=1)
    assert _ids(found) == sent
    for delivery in found:
        await delivery.ack()


async def test_fetch_without_waiting_takes_what_is_there(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    assert await bus.fetch(INGRESS, tenant, "prod", batch=4, wait=0) == []
    sent = [(await harness.send(bus, tenant, f"m{i}")).message_id for i in range(6)]
    first = await bus.fetch(INGRESS, tenant, "prod", batch=4, wait=0)
    second = await bus.fetch(INGRESS, tenant, "prod", batch=4, wait=0)  # the rest, then none
    assert _ids(first) + _ids(second) == sent
    assert [d.attempt for d in first + second] == [1] * 6
    assert await bus.fetch(INGRESS, tenant, "prod", batch=1, wait=0) == []
    await first[0].nak(delay=0)
    for delivery in first[1:] + second:
        await delivery.ack()
    [again] = await bus.fetch(INGRESS, tenant, "prod", wait=2)
    assert (again.attempt, _ids([again])) == (2, sent[:1])
    await again.ack()
    assert await bus.fetch(INGRESS, tenant, "prod", batch=4, wait=0) == []


async def test_nak_redelivers_with_the_next_attempt(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    sent = await harness.send(bus, tenant)
    [first] = await bus.fetch(INGRESS, tenant, "prod", wait=2)
    await first.nak()  # the bus's backoff after a first attempt: a second
    [second] = await bus.fetch(INGRESS, tenant, "prod", wait=4)
    assert (second.attempt, _ids([second])) == (2, [sent.message_id])
    await second.nak(delay=0)
    [third] = await bus.fetch(INGRESS, tenant, "prod", wait=2)
    assert third.attempt == 3
    await third.ack()


async def test_an_unacknowledged_delivery_comes_back_after_the_ack_wait(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    sent = await harness.send(bus, tenant)
    [first] = await bus.fetch(INGRESS, tenant, "prod", wait=2)
    [again] = await bus.fetch(INGRESS, tenant, "prod", wait=ACK_WAIT * 5)
    assert (again.attempt, _ids([again])) == (2, [sent.message_id])
    await first.ack()  # a settled-elsewhere lease: whatever it does, the newer one decides
    await again.ack()
    assert await bus.fetch(INGRESS, tenant, "prod", wait=ACK_WAIT * 1.5) == []


async def test_term_never_delivers_again(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    await harness.send(bus, tenant)
    [delivery] = await bus.fetch(INGRESS, tenant, "prod", wait=2)
    await delivery.term()
    assert await bus.fetch(INGRESS, tenant, "prod", wait=ACK_WAIT * 1.5) == []


async def test_in_progress_keeps_the_delivery(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    await harness.send(bus, tenant)
    [delivery] = await bus.fetch(INGRESS, tenant, "prod", wait=2)
    await delivery.in_progress()
    await delivery.ack()
    await delivery.in_progress()  # after settling: nothing
    assert await bus.fetch(INGRESS, tenant, "prod", wait=ACK_WAIT * 1.5) == []


async def test_a_republished_message_is_stored_once(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    sent = await harness.send(bus, tenant)
    subject = sent.subject(INGRESS, prefix=harness.prefix)
    await bus.publish(subject, sent.encode(), message_id=sent.message_id)
    found = await bus.fetch(INGRESS, tenant, "prod", batch=5, wait=1)
    assert _ids(found) == [sent.message_id]
    await found[0].ack()
    await bus.publish(subject, sent.encode(), message_id=sent.message_id)  # acked, still a dup
    assert await bus.fetch(INGRESS, tenant, "prod", wait=0.3) == []


async def test_another_tenants_message_ids_do_not_deduplicate_mine(harness: Harness) -> None:
    bus, a, b = harness.bus(), await harness.tenant(), await harness.tenant()
    mine = await harness.send(bus, a, "mine")
    theirs = await harness.send(bus, b, "theirs", message_id=mine.message_id)
    [got_b] = await bus.fetch(INGRESS, b, "prod", wait=2)
    assert Envelope.decode(got_b.data) == theirs
    [got_a] = await bus.fetch(INGRESS, a, "prod", wait=2)
    assert Envelope.decode(got_a.data) == mine


async def test_a_fetch_reads_one_direction_of_one_tenant_environment(harness: Harness) -> None:
    bus, a, b = harness.bus(), await harness.tenant(), await harness.tenant()
    await harness.tenant()  # a third, idle
    a_in = await harness.send(bus, a, "a in")
    a_out = await harness.send(bus, a, "a out", role="assistant", in_reply_to=a_in.message_id)
    b_in = await harness.send(bus, b, "b in")
    ingress = await bus.fetch(INGRESS, a, "prod", batch=10, wait=1)
    egress = await bus.fetch(EGRESS, a, "prod", batch=10, wait=1)
    assert (_ids(ingress), _ids(egress)) == ([a_in.message_id], [a_out.message_id])
    assert _ids(await bus.fetch(INGRESS, b, "prod", batch=10, wait=1)) == [b_in.message_id]
    assert await bus.fetch(EGRESS, b, "prod", wait=0.2) == []


async def test_dead_letters_are_kept_in_their_own_direction(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    sent = harness.envelope(tenant)
    dead = names.dead_letter_subject(harness.subject(tenant), prefix=harness.prefix)
    await bus.publish(dead, sent.encode(), message_id=sent.message_id)
    assert await bus.fetch(INGRESS, tenant, "prod", wait=0.2) == []
    [delivery] = await bus.fetch(DEAD, tenant, "prod", wait=2)
    assert delivery.subject == dead
    await delivery.ack()


async def test_a_full_tenant_is_refused_and_others_are_not_touched(harness: Harness) -> None:
    bus = harness.bus(max_msgs=2)
    a, b = await harness.tenant(), await harness.tenant()
    kept = [await harness.send(bus, a, f"a{i}") for i in range(2)]
    with pytest.raises(TenantBusFull) as refused:
        await harness.send(bus, a, "one too many")
    assert refused.value.kind.value == "rate_limited" and refused.value.retry_after > 0
    others = [await harness.send(bus, b, f"b{i}") for i in range(2)]
    await harness.send(bus, a, "a reply", role="assistant")  # each direction has its own share
    found = await bus.fetch(INGRESS, a, "prod", batch=5, wait=1)
    assert _ids(found) == [e.message_id for e in kept]  # nothing discarded
    assert _ids(await bus.fetch(INGRESS, b, "prod", batch=5, wait=1)) == [
        e.message_id for e in others
    ]
    await found[0].ack()
    await _eventually_sent(harness, bus, a)  # an acknowledged message frees its place


async def _eventually_sent(harness: Harness, bus: object, tenant: str) -> None:
    """A publish that passes once the bus has seen the acknowledgement (NATS settles acks
    asynchronously, so the count may lag the ack by a moment)."""
    for _ in range(50):
        try:
            await harness.send(bus, tenant, "room again")  # type: ignore[arg-type]
            return
        except TenantBusFull:
            await asyncio.sleep(0.1)
    raise AssertionError("an acknowledged message never freed its place")


async def test_a_closed_bus_refuses_to_publish_and_fetches_nothing(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    await bus.close()
    with pytest.raises(BusUnavailable):
        await harness.send(bus, tenant)
    assert await bus.fetch(INGRESS, tenant, "prod", wait=0.1) == []

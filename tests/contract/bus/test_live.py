"""Live reading: NATS subject matching (``*`` one token, ``>`` the rest) and queue groups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.ports import Message
from tests.contract.bus.support import Harness

EGRESS = names.Direction.EGRESS


async def _take(messages: AsyncIterator[Message], count: int, wait: float = 3.0) -> list[str]:
    async def gather() -> list[str]:
        return [(await anext(messages)).subject for _ in range(count)]

    return await asyncio.wait_for(gather(), wait)


async def _nothing_more(messages: AsyncIterator[Message], wait: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(anext(messages), wait)
    except TimeoutError:
        return True
    return False


async def test_filters_match_tokens_and_tails(harness: Harness) -> None:
    bus, a, b = harness.bus(), await harness.tenant(), await harness.tenant()
    a_web, a_slack = harness.subject(a), harness.subject(a, channel="slack")
    star = f"{harness.prefix}.ingress.prod.{a}.default.*"
    tail = f"{harness.prefix}.*.prod.{a}.>"
    exact = harness.subject(a, channel="slack")
    async with (
        bus.listen(star) as stars,
        bus.listen(tail) as tails,
        bus.listen(exact) as exacts,
    ):
        await harness.send(bus, a, channel_id="webchat")
        await harness.send(bus, a, channel_id="slack")
        await harness.send(bus, b)  # another tenant: nobody here hears it
        reply = await harness.send(bus, a, role="assistant")
        assert await _take(stars, 2) == [a_web, a_slack]
        a_reply = reply.subject(EGRESS, prefix=harness.prefix)
        assert await _take(tails, 3) == [a_web, a_slack, a_reply]
        assert await _take(exacts, 1) == [a_slack]
        assert await _nothing_more(stars) and await _nothing_more(exacts)


async def test_a_queue_group_shares_the_messages(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    wanted = f"{harness.prefix}.ingress.prod.{tenant}.>"
    async with (
        bus.listen(wanted, queue="senders") as first,
        bus.listen(wanted, queue="senders") as second,
        bus.listen(wanted) as everything,
    ):
        for index in range(20):
            await harness.send(bus, tenant, f"m{index}", message_id=f"m{index}")
        assert len(await _take(everything, 20)) == 20
        heard = [m async for m in _until_quiet(first)] + [m async for m in _until_quiet(second)]
        assert sorted(heard) == sorted(f"m{index}" for index in range(20))  # each once


async def _until_quiet(messages: AsyncIterator[Message]) -> AsyncIterator[str]:
    while True:
        try:
            message = await asyncio.wait_for(anext(messages), 0.5)
        except TimeoutError:
            return
        yield Envelope.decode(message.data).message_id


async def test_a_listener_hears_only_while_open(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    wanted = harness.subject(tenant)
    await harness.send(bus, tenant, "before")
    async with bus.listen(wanted) as messages:
        sent = await harness.send(bus, tenant, "during")
        message = await asyncio.wait_for(anext(messages), 3)
        assert message.data == sent.encode()
        assert await _nothing_more(messages)

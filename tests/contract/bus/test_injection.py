"""Ids with '.', '*', '>', spaces or CR/LF never reach the wire: refused before any I/O, and
nothing is published."""

from __future__ import annotations

import asyncio

import pytest

from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tests.contract.bus.support import Harness

BAD = ["a.b", "a*", ">", "a b", "a\r\nPUB x 1", "a\nb", "", "A" * 80]
INGRESS = names.Direction.INGRESS


@pytest.mark.parametrize("bad", BAD)
async def test_bad_ids_are_refused_and_nothing_is_published(harness: Harness, bad: str) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    good = harness.subject(tenant)
    async with bus.listen(f"{harness.prefix}.>") as heard:
        with pytest.raises(InvalidInput):
            await bus.publish(good, b"{}", message_id=bad)
        for subject in (good.replace("webchat", bad), good.replace(tenant, bad)):
            with pytest.raises(InvalidInput):
                await bus.publish(subject, b"{}", message_id="m1")
        with pytest.raises(InvalidInput):
            await bus.fetch(INGRESS, bad, "prod", wait=0.1)
        with pytest.raises(InvalidInput):
            await bus.fetch(INGRESS, tenant, bad, wait=0.1)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(anext(heard), 0.3)
    assert await bus.fetch(INGRESS, tenant, "prod", wait=0.1) == []


@pytest.mark.parametrize(
    "wanted",
    [
        "elsewhere.messaging.>",  # outside the bus's prefix
        "{prefix}.in gress.>",
        "{prefix}.ingress\r\nSUB x 1",
        "{prefix}.>.prod",
        "{prefix}.",
        "{prefix}",
        "{prefix}.ingress..x",
    ],
)
async def test_bad_filters_are_refused(harness: Harness, wanted: str) -> None:
    bus = harness.bus()
    with pytest.raises(InvalidInput):
        async with bus.listen(wanted.format(prefix=harness.prefix)):
            pass


@pytest.mark.parametrize("group", ["a b", "a\r\nb", "A", "a.b", "", "q" * 65])
async def test_bad_queue_groups_are_refused(harness: Harness, group: str) -> None:
    bus = harness.bus()
    with pytest.raises(InvalidInput):
        async with bus.listen(f"{harness.prefix}.>", queue=group):
            pass


async def test_a_message_on_another_prefix_is_refused(harness: Harness) -> None:
    bus, tenant = harness.bus(), await harness.tenant()
    other = names.subject(INGRESS, tenant, "prod", None, "webchat", prefix="other.messaging")
    with pytest.raises(InvalidInput):
        await bus.publish(other, b"{}", message_id="m1")

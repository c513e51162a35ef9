"""Ingress numbers each session's messages; a number taken for a refused message is given back."""

from __future__ import annotations

import pytest

from tenantry.backends.memory.bus import BusLimits, InProcessBus
from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.errors import TenantBusFull
from tenantry.runtime.messaging.ingress import Inbound, Ingress
from tests.integration.runners.conftest import Stack


async def test_numbers_follow_the_session_and_a_refused_message_gives_its_back(
    stack: Stack,
) -> None:
    bus = InProcessBus(limits=BusLimits(max_msgs=1))
    ingress = Ingress(bus, sequences=stack.wired.ingress._sequences)
    scope = await stack.wired.scopes.open(stack.ctx(stack.shared))
    first = await ingress.accept(scope, Inbound("webchat", "u1", "one"))
    with pytest.raises(TenantBusFull):
        await ingress.accept(scope, Inbound("webchat", "u1", "two", first.session_id))
    (delivery,) = await bus.fetch(names.Direction.INGRESS, stack.shared, "prod", wait=0)
    assert Envelope.decode(delivery.data).seq == 1
    await delivery.ack()
    await ingress.accept(scope, Inbound("webchat", "u1", "three", first.session_id))
    (delivery,) = await bus.fetch(names.Direction.INGRESS, stack.shared, "prod", wait=0)
    assert Envelope.decode(delivery.data).seq == 2  # not 3: the refused message's was given back
    await delivery.ack()
    other = await ingress.accept(scope, Inbound("webchat", "u1", "new session"))
    (delivery,) = await bus.fetch(names.Direction.INGRESS, stack.shared, "prod", wait=0)
    assert (other.session_id, Envelope.decode(delivery.data).seq) != (first.session_id, 1)
    assert Envelope.decode(delivery.data).seq == 1  # a new session counts from 1
    await bus.close()

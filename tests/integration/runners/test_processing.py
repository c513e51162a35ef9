"""A message on a tenant's channel runs that tenant's flow in its session; the reply goes out on
egress, recorded in the transcript, never across tenants."""

from __future__ import annotations

from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope, reply_id
from tests.integration.runners.conftest import Stack, pools, until

EGRESS = names.Direction.EGRESS


async def test_a_message_is_answered_by_its_tenants_flow(stack: Stack) -> None:
    sent = await stack.send(stack.shared, "hello")
    other = await stack.send(stack.dedicated, "hi")
    async with pools(stack.wired):
        await until(lambda: _answered(stack, stack.shared, sent.session_id))
        await until(lambda: _answered(stack, stack.dedicated, other.session_id))
    assert await stack.replies(stack.shared, sent.session_id) == ["Shared here"]
    assert await stack.replies(stack.dedicated, other.session_id) == ["Dedicated here"]
    session = await stack.session(stack.shared, sent.session_id)
    user = session.transcript[0]
    assert (user.role, user.text, user.data["message_id"]) == ("user", "hello", sent.message_id)
    deliveries = await stack.wired.bus.fetch(EGRESS, stack.shared, "prod", batch=10, wait=0)
    replies = [Envelope.decode(d.data) for d in deliveries]
    assert [(r.message_id, r.in_reply_to, r.role, r.text) for r in replies] == [
        (reply_id(sent.message_id, 0), sent.message_id, "assistant", "Shared here")
    ]
    assert deliveries[0].subject == names.subject(
        EGRESS, stack.shared, "prod", "support", "webchat", prefix=stack.wired.bus.prefix
    )


async def _answered(stack: Stack, tenant: str, session: str) -> bool:
    return bool(await stack.replies(tenant, session))

"""Through the runners, tenant A cannot reach tenant B: a message on A's subject is processed for
A alone, whatever its envelope claims; naming B's session finds nothing (and changes nothing)."""

from __future__ import annotations

import base64
import json

from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.worker.runners import wiring
from tenantry.worker.runners.processing import Outcome
from tests.integration.runners.conftest import Stack, stack  # noqa: F401 - the fixture
from tests.integration.runners.test_held_and_dead import _envelope

INGRESS, EGRESS = names.Direction.INGRESS, names.Direction.EGRESS


async def test_a_message_naming_another_tenants_session_reaches_nothing(
    stack: Stack,  # noqa: F811
) -> None:
    theirs = await stack.send(stack.dedicated, "B's conversation")
    before = await stack.session(stack.dedicated, theirs.session_id)
    subject = names.subject(INGRESS, stack.shared, "prod", "support", "webchat")
    processor = wiring.processor(stack.wired)
    attempts = [
        # A's own ids, B's session: looked up in A's sessions, where it does not exist
        _envelope(message_id="x1", tenant_id=stack.shared, session_id=theirs.session_id),
        # B's ids on A's subject: refused for what it is
        _envelope(
            message_id="x2",
            tenant_id=stack.dedicated,
            team_id="helpdesk",
            session_id=theirs.session_id,
        ),
    ]
    for attempt in attempts:
        await stack.wired.bus.publish(subject, attempt.encode(), message_id=attempt.message_id)
        (delivery,) = await stack.wired.bus.fetch(INGRESS, stack.shared, "prod", wait=1.0)
        assert await processor.handle(delivery) is Outcome.DEAD
    after = await stack.session(stack.dedicated, theirs.session_id)
    assert (after.revision, after.transcript) == (before.revision, before.transcript)
    assert await stack.wired.bus.fetch(EGRESS, stack.dedicated, "prod", wait=0) == []
    assert await stack.wired.bus.fetch(EGRESS, stack.shared, "prod", wait=0) == []
    letters = await stack.wired.bus.fetch(
        names.Direction.DEAD_LETTER, stack.shared, "prod", batch=10, wait=0
    )
    assert sorted(json.loads(d.data)["reason"] for d in letters) == [
        "message.subject_mismatch",
        "session.not_found",
    ]
    assert (
        await stack.wired.bus.fetch(names.Direction.DEAD_LETTER, stack.dedicated, "prod", wait=0)
        == []
    )
    decoded = [Envelope.decode(json_data(d.data)) for d in letters]
    assert {e.message_id for e in decoded} == {"x1", "x2"}


def json_data(letter: bytes) -> bytes:
    return base64.b64decode(json.loads(letter)["data"])

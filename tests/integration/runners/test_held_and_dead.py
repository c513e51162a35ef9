"""Suspended tenants' messages are held and processed in order after resume; messages that are
not what their subject says are dead-lettered and audited; a failing message is retried and
then dead-lettered; a crash after the session was saved does not reply twice."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from tenantry.bootstrap import flow_slots
from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.ports import Bus, Delivery
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.worker.runners import wiring
from tenantry.worker.runners.processing import Outcome
from tests.integration.runners.conftest import Stack, pool_of, pools, running, until

INGRESS, EGRESS = names.Direction.INGRESS, names.Direction.EGRESS
DEAD = names.Direction.DEAD_LETTER


async def _job(stack: Stack, kind: JobKind, tenant: str) -> None:
    job = await stack.wired.lifecycle.request(kind, tenant, actor="test")
    ended = await stack.wired.jobs.run(job.id)
    assert ended is not None and ended.state is JobState.SUCCEEDED


async def _fetch_one(stack: Stack, direction: names.Direction, tenant: str) -> Delivery:
    found = await stack.wired.bus.fetch(direction, tenant, "prod", batch=1, wait=1.0)
    assert len(found) == 1
    return found[0]


async def test_a_suspended_tenants_messages_wait_and_run_in_order_after_resume(
    stack: Stack,
) -> None:
    sent = await stack.send(stack.shared, "one")
    await stack.send(stack.shared, "two", session=sent.session_id)
    await _job(stack, JobKind.SUSPEND, stack.shared)
    shared = wiring.pool(stack.wired, "shared", None)  # type: ignore[arg-type]
    await shared.refresh()
    assert shared.entries == []  # not fetched at all while suspended
    # One fetched before the suspension was seen is given back, not lost.
    processor = dataclasses_replace(wiring.processor(stack.wired), hold_delay=0.2)
    early = await _fetch_one(stack, INGRESS, stack.shared)
    held = await processor.handle(early)
    assert held is Outcome.HELD
    await _job(stack, JobKind.RESUME, stack.shared)
    async with pools(stack.wired, "shared"):
        await until(lambda: _count(stack, sent.session_id, 2), seconds=20)
    record = await stack.session(stack.shared, sent.session_id)
    assert [e.text for e in record.transcript if e.role == "user"] == ["one", "two"]


async def test_an_envelope_naming_another_tenant_is_dead_lettered_and_audited(
    stack: Stack,
) -> None:
    subject = names.subject(INGRESS, stack.shared, "prod", "support", "webchat")
    forged = _envelope(tenant_id=stack.dedicated, team_id="helpdesk")
    await stack.wired.bus.publish(subject, forged.encode(), message_id="forged1")
    await stack.wired.bus.publish(subject, b"{not json", message_id="garbage1")
    processor = wiring.processor(stack.wired)
    for _ in range(2):
        outcome = await processor.handle(await _fetch_one(stack, INGRESS, stack.shared))
        assert outcome is Outcome.DEAD
    letters = await stack.wired.bus.fetch(DEAD, stack.shared, "prod", batch=10, wait=0)
    reasons = sorted(json.loads(letter.data)["reason"] for letter in letters)
    assert reasons == ["message.invalid", "message.subject_mismatch"]
    assert all(letter.subject.startswith("greentic.messaging.deadletter.") for letter in letters)
    assert await stack.wired.bus.fetch(INGRESS, stack.shared, "prod", wait=0) == []
    audit = await stack.wired.access.audit_records(tenant=stack.shared)
    assert sorted(r.action for r in audit if r.action == "message.refuse") == ["message.refuse"] * 2
    # Nothing reached the other tenant: no session, no egress.
    assert await stack.wired.bus.fetch(EGRESS, stack.dedicated, "prod", wait=0) == []


class Broken:
    async def run(self, *args: Any) -> Any:
        raise RuntimeError("the flow broke")


async def test_a_failing_message_is_retried_then_dead_lettered(stack: Stack) -> None:
    await stack.send(stack.shared, "boom")
    processor = dataclasses_replace(
        wiring.processor(stack.wired), engine=Broken(), max_deliveries=2
    )
    first = await _fetch_one(stack, INGRESS, stack.shared)
    assert await processor.handle(first) is Outcome.RETRY
    await first.nak(0)  # settled already (nak): this changes nothing
    second = await _fetch_one(stack, INGRESS, stack.shared)  # the bus's backoff: 1 s
    assert second.attempt == 2
    assert await processor.handle(second) is Outcome.DEAD
    letter = await _fetch_one(stack, DEAD, stack.shared)
    assert json.loads(letter.data)["reason"] == "RuntimeError"


class CrashingBus:
    """The services' bus, but the first egress publish never returns (the process dies)."""

    def __init__(self, bus: Bus) -> None:
        self._bus, self.prefix, self.crashed = bus, bus.prefix, False

    async def publish(self, subject: str, data: bytes, *, message_id: str) -> None:
        if ".egress." in subject and not self.crashed:
            self.crashed = True
            await asyncio.Event().wait()
        await self._bus.publish(subject, data, message_id=message_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)


async def test_a_crash_after_the_save_replies_once(stack: Stack) -> None:
    sent = await stack.send(stack.shared, "hello")
    crashing = CrashingBus(stack.wired.bus)
    processor = dataclasses_replace(wiring.processor(stack.wired), bus=crashing)
    delivery = await _fetch_one(stack, INGRESS, stack.shared)
    dying = asyncio.create_task(processor.handle(delivery))
    await until(lambda: _count(stack, sent.session_id, 1))  # saved, then stuck publishing
    dying.cancel()  # the worker dies: the delivery is never settled
    await delivery.nak(0)  # (what the ack wait does to it on the bus, sooner)
    async with (
        flow_slots(stack.wired.settings, stack.wired.limits) as slots,
        running(pool_of(stack.wired, "shared", slots)),
    ):
        await until(lambda: _egress_count(stack, 1))
    replies = await stack.wired.bus.fetch(EGRESS, stack.shared, "prod", batch=10, wait=0)
    assert [Envelope.decode(r.data).text for r in replies] == ["Shared here"]
    assert await stack.replies(stack.shared, sent.session_id) == ["Shared here"]


def dataclasses_replace(obj: Any, **changes: Any) -> Any:
    return dataclasses.replace(obj, **changes)


async def _count(stack: Stack, session: str, count: int) -> bool:
    return len(await stack.replies(stack.shared, session)) >= count


async def _egress_count(stack: Stack, count: int) -> bool:
    # Peek without taking: the in-process bus keeps unacked egress messages.
    return len(stack.wired.bus._queue(EGRESS, stack.shared, "prod").kept) >= count  # type: ignore[attr-defined]


def _envelope(**fields: object) -> Envelope:
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

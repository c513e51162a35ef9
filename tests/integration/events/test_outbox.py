"""The outbox end to end, on both stacks: each change's events in its own transaction, then
published in order per tenant, signed, on the tenant's subjects only, valid per their schemas;
a dispatcher killed between publishing and marking publishes exactly the committed events."""

from __future__ import annotations

import asyncio
import json

import jsonschema
import pytest
from sqlalchemy import select

from tenantry.bootstrap import Services, events_keyring
from tenantry.core import names
from tenantry.core.logging import bind_correlation
from tenantry.tenancy.events import catalog
from tenantry.tenancy.events.dispatch import Dispatcher
from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.events.signing import InvalidEventSignature, verify_event
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.registry.database import session_factory
from tests.integration.events.conftest import Published, bundle, settle

E = EventType


async def _rows(wired: Services) -> list[OutboxRow]:
    async with session_factory(wired.engine)() as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def _dispatch(wired: Services) -> int:
    assert wired.events is not None
    total = 0
    while published := await wired.events.dispatcher.publish_pending():
        total += published
    await settle()
    return total


async def _suspend_and_resume(wired: Services, tenant: str) -> None:
    for kind in (JobKind.SUSPEND, JobKind.RESUME):
        job = await wired.lifecycle.request(kind, tenant, actor="test", correlation_id=f"c-{kind}")
        await wired.jobs.run(job.id)


async def test_each_change_announces_its_event_published_in_order_and_signed(
    stack: Services, published: Published
) -> None:
    with bind_correlation("apply-1"):
        await stack.registry.apply(bundle("acme", "globex"))
    for tenant in ("acme", "globex"):
        assert (await stack.controller.reconcile(tenant)).result == "ready"
    await _suspend_and_resume(stack, "acme")
    assert await _dispatch(stack) == 6
    acme = await published.events("acme")
    assert [e["type"] for _, e in acme] == [
        E.TENANT_CREATED,
        E.TENANT_PROVISIONED,
        E.TENANT_SUSPENDED,
        E.TENANT_RESUMED,
    ]
    assert [e["tenantseq"] for _, e in acme] == [1, 2, 3, 4]
    prefix = stack.settings.events_subject_prefix
    for subject, event in acme:
        assert subject == names.event_subject("acme", event["type"], prefix=prefix)
        assert event["subject"] == "acme" and event["source"] == "tenantry"
    assert acme[0][1]["correlationid"] == "apply-1"
    assert acme[2][1]["correlationid"] == "c-suspend"
    assert acme[2][1]["causationid"] == acme[2][1]["data"]["job_id"]
    assert acme[3][1]["data"]["tenant_state"] == "active"
    rows = await _rows(stack)
    assert all(row.published_at is not None for row in rows)
    assert {(r.tenant_id, r.tenant_seq) for r in rows} >= {("globex", 1), ("globex", 2)}


async def test_every_published_event_verifies_and_validates_and_a_tampered_one_fails(
    stack: Services, published: Published
) -> None:
    await stack.registry.apply(bundle("acme"))
    await stack.controller.reconcile("acme")
    await _suspend_and_resume(stack, "acme")
    await _dispatch(stack)
    assert stack.events is not None
    keys = stack.events.verifying_keys()
    envelope = catalog.envelope_schema()
    found = await published.events()
    assert len(found) == 4
    for _, event in found:
        assert verify_event(json.dumps(event), keys) == event
        jsonschema.validate(event, envelope)
        jsonschema.validate(event["data"], catalog.data_schema(EventType(event["type"])))
        assert event["dataschema"] == catalog.data_schema(EventType(event["type"]))["$id"]
    stored = {row.event_id: row.event for row in await _rows(stack)}
    assert stored == {e["id"]: e for _, e in found}  # webhooks deliver the row verbatim
    tampered = found[0][1] | {"subject": "globex"}
    with pytest.raises(InvalidEventSignature):
        verify_event(json.dumps(tampered), keys)


async def test_tenant_a_events_never_reach_tenant_b_subjects(
    stack: Services, published: Published
) -> None:
    await stack.registry.apply(bundle("acme", "globex"))
    await stack.controller.reconcile("acme")
    await _dispatch(stack)
    globex = await published.events("globex")
    assert [e["type"] for _, e in globex] == [E.TENANT_CREATED]
    assert all(e["subject"] == "globex" for _, e in globex)
    acme_filter = names.event_filter("acme", prefix=stack.settings.events_subject_prefix)
    assert not any(s.startswith(acme_filter[:-1]) for s, _ in globex)
    assert {e["subject"] for _, e in await published.events("acme")} == {"acme"}


async def test_a_rolled_back_change_emits_nothing(stack: Services) -> None:
    await stack.registry.apply(bundle("acme"))
    before = await _rows(stack)
    with pytest.raises(RuntimeError):
        async with session_factory(stack.engine)() as session, session.begin():
            await emit(session, Event(E.TENANT_UPDATED, "acme"), now=stack.controller.clock())
            raise RuntimeError("the change fails after its event")
    assert [r.event_id for r in await _rows(stack)] == [r.event_id for r in before]


class _Killed(Exception):
    """The process dies: nothing after it runs (not a TenantryError the dispatcher handles)."""


class _DyingBus:
    """Publishes ``survive`` events on the real bus, then dies before the batch is marked."""

    def __init__(self, wired: Services, survive: int) -> None:
        self._bus, self._left = wired.bus, survive

    async def publish_event(self, subject: str, data: bytes, *, message_id: str) -> None:
        if self._left == 0:
            raise _Killed
        self._left -= 1
        await self._bus.publish_event(subject, data, message_id=message_id)


async def test_a_dispatcher_killed_between_publish_and_mark_publishes_exactly_the_committed(
    stack: Services, published: Published
) -> None:
    await stack.registry.apply(bundle("acme", "globex"))
    with pytest.raises(RuntimeError):  # a change rolled back: its event is never published
        async with session_factory(stack.engine)() as session, session.begin():
            await emit(session, Event(E.TENANT_UPDATED, "acme"), now=stack.controller.clock())
            raise RuntimeError
    committed = [row.event_id for row in await _rows(stack)]
    assert stack.events is not None
    dying = Dispatcher(
        session_factory(stack.engine),
        _DyingBus(stack, 1),
        events_keyring(stack.settings),
        settings=stack.events.dispatcher.settings,
    )
    with pytest.raises(_Killed):
        await dying.publish_pending()
    assert all(row.published_at is None for row in await _rows(stack))  # none marked
    assert await _dispatch(stack) == len(committed)  # a new one: all again, the bus dedups
    found = await published.events()
    assert [e["id"] for _, e in found] == committed
    assert await _dispatch(stack) == 0


async def test_concurrent_changes_of_one_tenant_are_numbered_and_published_in_commit_order(
    stack: Services, published: Published
) -> None:
    await stack.registry.apply(bundle("acme"))
    sessions = session_factory(stack.engine)

    async def change(n: int) -> None:
        async with sessions() as session, session.begin():
            event = Event(E.TENANT_UPDATED, "acme", {"n": n})
            await emit(session, event, now=stack.controller.clock())

    await asyncio.gather(*(change(n) for n in range(12)))
    rows = [r for r in await _rows(stack) if r.type == E.TENANT_UPDATED]
    assert sorted(r.tenant_seq for r in rows) == list(range(2, 14))
    assert [r.tenant_seq for r in rows] == sorted(r.tenant_seq for r in rows)  # id order too
    await _dispatch(stack)
    assert [e["tenantseq"] for _, e in await published.events("acme")] == list(range(1, 14))

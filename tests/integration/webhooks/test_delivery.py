"""Deliveries end to end: events from the outbox, signed per Standard Webhooks and verified
with the reference library, sent to local receivers that succeed, fail, hang or are gone."""

from __future__ import annotations

import dataclasses
import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tenantry import bootstrap
from tenantry.bootstrap import Services
from tenantry.core.settings import Settings
from tenantry.tenancy.events.schemas import EventType
from tenantry.tenancy.webhooks.schemas import Status
from tenantry.tenancy.webhooks.service import Webhooks
from tenantry.worker.webhooks import WebhookDispatcher
from tests.integration.webhooks.conftest import (
    OWNER_A,
    OWNER_B,
    PLATFORM,
    A,
    B,
    announce,
    make_due,
    rounds,
)
from tests.integration.webhooks.receivers import Received, receiving


async def test_a_delivery_verifies_with_the_reference_library(
    tenants: Services, hooks: Webhooks, dispatcher: WebhookDispatcher
) -> None:
    async with receiving() as receiver:
        added = await hooks.add(OWNER_A, url=receiver.url, filters=["tenancy.tenant.*"])
        event_id = await announce(tenants, A, note="hello")
        await rounds(dispatcher)
        (got,) = await receiver.wait_for(1)
    payload = Webhook(added.secret).verify(got.body, got.headers)
    assert payload["id"] == event_id == got.headers["webhook-id"]
    assert payload["subject"] == A and payload["data"] == {"note": "hello"}
    assert got.headers["content-type"] == "application/cloudevents+json"
    assert int(got.headers["webhook-sequence"]) >= 1
    with pytest.raises(WebhookVerificationError):
        Webhook(added.secret).verify(got.body + b" ", got.headers)
    (log,) = await hooks.deliveries(OWNER_A, added.endpoint.id)
    assert (log.status, log.attempts, log.last_status_code) == (Status.SUCCEEDED, 1, 200)
    assert log.latency_ms is not None


async def test_each_endpoint_gets_only_its_tenants_events_and_the_platform_all(
    tenants: Services, hooks: Webhooks, dispatcher: WebhookDispatcher
) -> None:
    async with receiving() as to_a, receiving() as to_b, receiving() as to_platform:
        await hooks.add(OWNER_A, url=to_a.url, filters=["*"])
        await hooks.add(OWNER_B, url=to_b.url, filters=["*"])
        await hooks.add(PLATFORM, url=to_platform.url, filters=["tenancy.tenant.updated"])
        await announce(tenants, A)
        await announce(tenants, B)
        await announce(tenants, B, EventType.TENANT_SUSPENDED)
        await rounds(dispatcher)
        await to_platform.wait_for(2)
    assert [json.loads(r.body)["subject"] for r in to_a.received] == [A]
    assert [json.loads(r.body)["subject"] for r in to_b.received] == [B, B]
    assert sorted(json.loads(r.body)["subject"] for r in to_platform.received) == [A, B]


async def test_a_500_is_retried_later_then_delivered(
    tenants: Services, hooks: Webhooks, dispatcher: WebhookDispatcher
) -> None:
    async with receiving(lambda got: 500 if got.index == 0 else 200) as receiver:
        added = await hooks.add(OWNER_A, url=receiver.url, filters=[])
        await announce(tenants, A)
        await rounds(dispatcher)
        (log,) = await hooks.deliveries(OWNER_A, added.endpoint.id)
        assert (log.status, log.attempts, log.last_status_code) == (Status.PENDING, 1, 500)
        assert log.next_attempt_at is not None and log.next_attempt_at > log.created_at
        await rounds(dispatcher)  # not due yet: nothing is sent
        assert len(receiver.received) == 1
        await make_due(tenants)
        await rounds(dispatcher)
        first, second = await receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    Webhook(added.secret).verify(second.body, second.headers)
    (log,) = await hooks.deliveries(OWNER_A, added.endpoint.id)
    assert (log.status, log.attempts, log.last_status_code) == (Status.SUCCEEDED, 2, 200)


async def test_a_failing_delivery_holds_back_no_later_one(
    tenants: Services, hooks: Webhooks, dispatcher: WebhookDispatcher
) -> None:
    def answer(got: Received) -> int:
        return 500 if json.loads(got.body)["data"].get("n") == 1 else 200

    async with receiving(answer) as receiver:
        added = await hooks.add(OWNER_A, url=receiver.url, filters=[])
        await announce(tenants, A, n=1)
        await announce(tenants, A, n=2)
        await rounds(dispatcher)
        await receiver.wait_for(2)
    found = {d.tenant_seq: d.status for d in await hooks.deliveries(OWNER_A, added.endpoint.id)}
    first, second = sorted(found)
    assert (found[first], found[second]) == (Status.PENDING, Status.SUCCEEDED)
    sequences = sorted(int(r.headers["webhook-sequence"]) for r in receiver.received)
    assert sequences == [first, second]


async def test_410_disables_the_endpoint(
    tenants: Services, hooks: Webhooks, dispatcher: WebhookDispatcher
) -> None:
    async with receiving(lambda _: 410) as receiver:
        added = await hooks.add(OWNER_A, url=receiver.url, filters=[])
        await announce(tenants, A)
        await rounds(dispatcher)
        await announce(tenants, A)
        await rounds(dispatcher)
        assert len(receiver.received) == 1
    (endpoint,) = await hooks.list(OWNER_A)
    assert endpoint.disabled_at is not None and "410" in (endpoint.disabled_reason or "")
    (log,) = await hooks.deliveries(OWNER_A, added.endpoint.id)
    assert (log.status, log.last_status_code) == (Status.FAILED, 410)


async def test_a_hanging_endpoint_delays_no_other(tenants: Services, hooks: Webhooks) -> None:
    quick = tenants.settings.model_copy(update={"webhook_timeout_seconds": 1.0})
    dispatcher = WebhookDispatcher.of(_with(tenants, quick), poll=0.05)
    async with receiving(lambda _: None) as hanging, receiving() as healthy:
        await hooks.add(OWNER_A, url=hanging.url, filters=[])
        await hooks.add(OWNER_B, url=healthy.url, filters=[])
        for _ in range(6):
            await announce(tenants, A)
        await announce(tenants, B)
        await dispatcher.fan_out()
        await dispatcher.start_due()
        await hanging.wait_for(4)  # the endpoint's share of slots, all held
        await healthy.wait_for(1)  # sent while those hang
        assert len(hanging.received) == 4
        await dispatcher.flush()  # while those hang: their outcomes come after it
        await dispatcher.aclose()  # the hanging requests time out
    logs = await hooks.deliveries(OWNER_A, (await hooks.list(OWNER_A))[0].id)
    timed_out = [d for d in logs if d.attempts == 1]
    assert len(timed_out) == 4 and all("no answer" in (d.last_error or "") for d in timed_out)


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    tenants: Services, hooks: Webhooks, dispatcher: WebhookDispatcher
) -> None:
    async with receiving() as receiver:
        added = await hooks.add(OWNER_A, url=receiver.url, filters=[])
        rotated = await hooks.rotate(OWNER_A, added.endpoint.id)
        await announce(tenants, A)
        await rounds(dispatcher)
        (got,) = await receiver.wait_for(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (added.secret, rotated.secret):
        Webhook(secret).verify(got.body, got.headers)
    assert rotated.version == 2 and rotated.previous_expires_at is not None


async def test_replay_sends_again_with_a_fresh_signature(
    tenants: Services, hooks: Webhooks, dispatcher: WebhookDispatcher
) -> None:
    async with receiving() as receiver:
        added = await hooks.add(OWNER_A, url=receiver.url, filters=[])
        await announce(tenants, A)
        await announce(tenants, A)
        await rounds(dispatcher)
        first = (await hooks.deliveries(OWNER_A, added.endpoint.id))[0]
        one = await hooks.replay(OWNER_A, added.endpoint.id, delivery_id=first.id)
        both = await hooks.replay(OWNER_A, added.endpoint.id, since=first.created_at)
        await rounds(dispatcher)
        got = await receiver.wait_for(5)
    assert [d.replay_of for d in one] == [first.id] and len(both) == 2
    for received in got:
        Webhook(added.secret).verify(received.body, received.headers)
    assert sum(r.headers["webhook-id"] == first.event_id for r in got) == 3


async def test_a_refused_address_is_never_dialled(tenants: Services) -> None:
    settings = tenants.settings.model_copy(update={"webhook_egress_allow": []})
    strict = bootstrap.webhooks(tenants)
    async with receiving() as receiver:
        added = await strict.add(OWNER_A, url=receiver.url, filters=[])
        await announce(tenants, A)
        sender = WebhookDispatcher.of(_with(tenants, settings), poll=0.05)
        await rounds(sender)
        await sender.aclose()
        assert receiver.received == []
    (log,) = await strict.deliveries(OWNER_A, added.endpoint.id)
    assert log.status is Status.PENDING and "egress" in (log.last_error or "")


def _with(services: Services, settings: Settings) -> Services:
    return dataclasses.replace(services, settings=settings)

"""A delivery whose event left the outbox (pruned past its retention) is never sent without it:
a waiting retry fails with the reason, and a replay of it is refused as gone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete

from tenantry.bootstrap import Services
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.registry import database
from tenantry.tenancy.webhooks.schemas import Status
from tenantry.tenancy.webhooks.sending import EXPIRED
from tenantry.tenancy.webhooks.service import Webhooks
from tenantry.worker.webhooks import WebhookDispatcher
from tests.integration.webhooks.conftest import OWNER_A, A, announce, rounds
from tests.integration.webhooks.receivers import receiving


async def _prune(services: Services, event_id: str) -> None:
    """What the outbox's retention does to an old event."""
    async with database.session_factory(services.engine)() as session, session.begin():
        await session.execute(delete(OutboxRow).where(OutboxRow.event_id == event_id))


async def test_a_waiting_delivery_whose_event_was_pruned_fails_unsent(
    tenants: Services, hooks: Webhooks, dispatcher: WebhookDispatcher
) -> None:
    async with receiving() as receiver:
        added = await hooks.add(OWNER_A, url=receiver.url, filters=[])
        gone, kept = await announce(tenants, A), await announce(tenants, A)
        await dispatcher.fan_out()
        await _prune(tenants, gone)
        await dispatcher.start_due()
        await dispatcher.settled()
        (got,) = await receiver.wait_for(1)
    assert got.headers["webhook-id"] == kept and len(receiver.received) == 1
    log = {d.event_id: d for d in await hooks.deliveries(OWNER_A, added.endpoint.id)}
    assert (log[gone].status, log[gone].last_error) == (Status.FAILED, EXPIRED)
    assert log[kept].status is Status.SUCCEEDED


async def test_a_replay_needs_the_event_still_kept(
    tenants: Services, hooks: Webhooks, dispatcher: WebhookDispatcher
) -> None:
    async with receiving() as receiver:
        added = await hooks.add(OWNER_A, url=receiver.url, filters=[])
        gone, kept = await announce(tenants, A), await announce(tenants, A)
        await rounds(dispatcher)
        await receiver.wait_for(2)
    log = {d.event_id: d for d in await hooks.deliveries(OWNER_A, added.endpoint.id)}
    await _prune(tenants, gone)
    with pytest.raises(TenantryError) as refused:
        await hooks.replay(OWNER_A, added.endpoint.id, delivery_id=log[gone].id)
    assert (refused.value.kind, refused.value.code) == (ErrorKind.GONE, "webhook.event_expired")
    ranged = await hooks.replay(OWNER_A, added.endpoint.id, since=log[gone].created_at)
    assert [d.event_id for d in ranged] == [kept]
    with pytest.raises(TenantryError) as missing:
        await hooks.replay(OWNER_A, added.endpoint.id, delivery_id="0" * 32)
    assert missing.value.code == "webhook.delivery_not_found"


async def test_the_log_keeps_pending_deliveries_and_recent_ones(
    tenants: Services, hooks: Webhooks, dispatcher: WebhookDispatcher
) -> None:
    answers = iter([200, 500])  # one succeeds, the other is retried later
    async with receiving(lambda _: next(answers)) as receiver:
        added = await hooks.add(OWNER_A, url=receiver.url, filters=[])
        await announce(tenants, A)
        await announce(tenants, A)
        await rounds(dispatcher)
    assert {d.status for d in await hooks.deliveries(OWNER_A, added.endpoint.id)} == {
        Status.SUCCEEDED,
        Status.PENDING,  # its first attempt failed: retried later
    }
    assert await dispatcher.prune() == 0  # nothing is 30 days old
    later = WebhookDispatcher.of(tenants, log_retention=timedelta(0))
    try:
        assert await later.prune() == 1  # the finished one; the pending one stays
    finally:
        await later.aclose()
    [left] = await hooks.deliveries(OWNER_A, added.endpoint.id)
    assert left.status is Status.PENDING

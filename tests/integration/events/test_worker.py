"""The worker's dispatcher publishes what is committed while it runs, and old published
events are pruned (unpublished ones never are)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from tenantry.bootstrap import Services, events_keyring
from tenantry.tenancy.events.dispatch import Dispatcher
from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.registry.database import session_factory
from tenantry.worker.events import run_events
from tests.integration.events.conftest import Published, bundle


async def _published(wired: Services) -> list[bool]:
    async with session_factory(wired.engine)() as session:
        rows = (await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
        return [row.published_at is not None for row in rows]


async def test_the_worker_publishes_committed_events_until_stopped(
    stack: Services, published: Published
) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(run_events(stack, stop=stop))
    await stack.registry.apply(bundle("acme", "globex"))
    for _ in range(200):
        if await _published(stack) == [True, True]:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(worker, timeout=10)
    assert await _published(stack) == [True, True]
    assert {e["subject"] for _, e in await published.events()} == {"acme", "globex"}


async def test_published_events_older_than_the_retention_are_pruned(stack: Services) -> None:
    assert stack.events is not None
    await stack.registry.apply(bundle("acme"))
    await stack.events.dispatcher.publish_pending()
    sessions = session_factory(stack.engine)
    async with sessions() as session, session.begin():
        await emit(session, Event(EventType.TENANT_UPDATED, "acme"), now=stack.controller.clock())
    later = stack.controller.clock() + timedelta(days=8)
    dispatcher = Dispatcher(
        sessions,
        stack.bus,
        events_keyring(stack.settings),
        settings=stack.events.dispatcher.settings,
        clock=lambda: later,
    )
    assert await dispatcher.prune() == 1
    assert await _published(stack) == [False]  # the unpublished one waits for its turn
    assert await dispatcher.publish_pending() == 1
    async with sessions() as session:
        seqs = (await session.scalars(select(OutboxRow.tenant_seq))).all()
    assert list(seqs) == [2]  # numbering goes on after a prune

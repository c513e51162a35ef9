"""The worker's dispatcher publishes what is committed while it runs, and old published
events are pruned (unpublished ones never are)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import select

from tenantry.bootstrap import Services, events_keyring
from tenantry.tenancy.events.dispatch import Dispatcher
from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.events.signing import verify_event
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.database import session_factory
from tenantry.worker.events import run_events
from tests.integration.events.conftest import Published, bundle, settle


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


async def test_an_event_emitted_without_the_key_is_signed_before_it_is_published(
    stack: Services, published: Published
) -> None:
    assert stack.events is not None
    await stack.registry.apply(bundle("acme"))
    bare = database.create_engine(stack.settings.control_database_url())  # no events key
    try:
        async with session_factory(bare)() as session, session.begin():
            event = Event(EventType.TENANT_UPDATED, "acme")
            await emit(session, event, now=stack.controller.clock())
    finally:
        await bare.dispose()
    async with session_factory(stack.engine)() as session:
        stored = (await session.scalars(select(OutboxRow.event).order_by(OutboxRow.id))).all()
    assert "signature" in stored[0] and "signature" not in stored[1]
    assert await stack.events.dispatcher.publish_pending() == 2
    keys = stack.events.verifying_keys()
    async with session_factory(stack.engine)() as session:
        stored = (await session.scalars(select(OutboxRow.event).order_by(OutboxRow.id))).all()
    for event in stored:
        assert verify_event(json.dumps(event), keys) == event
    await settle()
    assert [e for _, e in await published.events()] == list(stored)

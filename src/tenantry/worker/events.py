"""The worker's outbox dispatcher: publishes committed events on the bus, prunes old ones."""

from __future__ import annotations

import asyncio
import time
from typing import Final

from tenantry.bootstrap import Services
from tenantry.core.errors import TenantryError
from tenantry.core.logging import get_logger
from tenantry.tenancy.events.dispatch import Dispatcher

log = get_logger(__name__)
PRUNE_EVERY: Final = 3600.0  # seconds between prunes of published events


async def run_events(services: Services, *, stop: asyncio.Event) -> None:
    """Publish the outbox every ``events_dispatch_seconds`` (at once again while batches come
    full) until ``stop`` is set."""
    if services.events is None:
        return
    dispatcher = services.events.dispatcher
    interval = services.settings.events_dispatch_seconds
    pruned_at = float("-inf")
    while not stop.is_set():
        full = await _publish(dispatcher)
        if time.monotonic() - pruned_at > PRUNE_EVERY:
            pruned_at = time.monotonic()
            await _prune(dispatcher)
        if full:
            continue
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue


async def _publish(dispatcher: Dispatcher) -> bool:
    """One batch; True when it was full (more may be waiting)."""
    try:
        return await dispatcher.publish_pending() >= dispatcher.settings.batch
    except TenantryError as error:
        log.warning("events.dispatch_failed", code=error.code, error=error.message)
        return False


async def _prune(dispatcher: Dispatcher) -> None:
    try:
        pruned = await dispatcher.prune()
    except TenantryError as error:
        log.warning("events.prune_failed", code=error.code, error=error.message)
        return
    if pruned:
        log.info("events.pruned", events=pruned)

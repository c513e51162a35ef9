"""Running pools from the services: ``tenantry worker --pool`` and ``tenantry up``.

``shared`` and ``tenant:{id}`` run that one pool; ``*`` (``tenantry up``) runs the shared pool
and one pool per dedicated pool the registry names, started and stopped as tenants come, move
and go.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tenantry.bootstrap import Services, flow_slots
from tenantry.core.logging import get_logger
from tenantry.tenancy.access.repository import AccessRepository
from tenantry.tenancy.audit.schemas import AuditEntry
from tenantry.tenancy.deployment import Deployment
from tenantry.tenancy.limits.flow_slots import FlowSlots
from tenantry.tenancy.pools.directory import EVERY, SHARED, Directory
from tenantry.tenancy.registry.database import session_factory
from tenantry.worker.runners.dead_letters import DeadLetters
from tenantry.worker.runners.pool import Pool, PoolSettings
from tenantry.worker.runners.processing import Processor

log = get_logger(__name__)


def directory(services: Services) -> Directory:
    """The registry's tenant environments by pool, those this deployment serves only."""
    deployment = Deployment.of(services.settings)
    return Directory(session_factory(services.engine), deployment=deployment)


def processor(services: Services) -> Processor:
    """The processing of ingress messages, wired to ``services``."""
    records = AccessRepository(session_factory(services.engine))
    clock = services.controller.clock

    async def audit(entry: AuditEntry) -> None:
        await records.record([entry], now=clock())

    settings = services.settings
    return Processor(
        bus=services.bus,
        scopes=services.scopes,
        resolve=services.flows.resolve,
        engine=services.flow_engine,
        admit=services.fence.admit,
        dead_letters=DeadLetters(services.bus, audit),
        max_deliveries=settings.max_deliveries,
        order_gap=timedelta(seconds=settings.order_gap_seconds),
        clock=clock,
    )


def pool(services: Services, name: str, slots: FlowSlots) -> Pool:
    settings = services.settings
    return Pool(
        name,
        services.bus,
        processor(services),
        directory(services).served,
        services.limits.source.get,
        slots,
        PoolSettings(concurrency=settings.pool_concurrency, refresh=settings.pool_refresh_seconds),
    )


async def run_pools(services: Services, name: str, *, stop: asyncio.Event) -> None:
    """Run the pool ``name`` (or, for ``*``, every pool) until ``stop`` is set."""
    async with flow_slots(services.settings, services.limits) as slots:
        if name != EVERY:
            await pool(services, name, slots).run(stop)
            return
        await _every_pool(services, slots, stop)


async def _every_pool(services: Services, slots: FlowSlots, stop: asyncio.Event) -> None:
    registry = directory(services)
    running: dict[str, asyncio.Task[None]] = {}
    try:
        while not stop.is_set():
            try:
                wanted = {SHARED} | {entry.pool for entry in await registry.served()}
            except Exception as error:  # the registry is down: keep what runs
                log.warning("pools.refresh_failed", error=repr(error))
                wanted = set(running)
            for name in sorted(wanted - set(running)):
                log.info("pools.started", pool=name)
                running[name] = asyncio.create_task(pool(services, name, slots).run(stop))
            try:
                await asyncio.wait_for(stop.wait(), timeout=services.settings.pool_refresh_seconds)
            except TimeoutError:
                continue
    finally:
        if not stop.is_set():  # ended by an error: the pools cannot outlive this loop
            for task in running.values():
                task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)

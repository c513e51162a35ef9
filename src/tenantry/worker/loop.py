"""The worker: the periodic tasks (reconcile) and the lifecycle job loop, until asked to stop.

Each periodic task runs once per interval; a task that raises is logged and retried on the next
tick, so one failing task never stops the others. The job loop (``worker.jobs``) runs beside
them, so a long job never waits for a reconcile or holds one up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from tenantry.bootstrap import Services
from tenantry.core.errors import TenantryError
from tenantry.core.logging import get_logger
from tenantry.tenancy.audit.service import AuditService
from tenantry.tenancy.controller.conditions import Result
from tenantry.tenancy.pools.directory import SHARED
from tenantry.worker.egress import EgressDispatcher
from tenantry.worker.events import run_events
from tenantry.worker.jobs import run_jobs
from tenantry.worker.reconciling import Reconciling
from tenantry.worker.runners.wiring import run_pools
from tenantry.worker.webhooks import WebhookDispatcher

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    run: Callable[[], Awaitable[None]]


async def run_forever(tasks: Sequence[Task], *, interval: float, stop: asyncio.Event) -> None:
    """Run every task each ``interval`` seconds until ``stop`` is set."""
    while not stop.is_set():
        for task in tasks:
            await _run_once(task)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue


async def _run_once(task: Task) -> None:
    try:
        await task.run()
    except TenantryError as error:
        log.warning("worker.task_failed", task=task.name, code=error.code, error=error.message)


async def run_worker(services: Services, *, stop: asyncio.Event, pool: str | None = SHARED) -> None:
    """Every worker loop of this process (``tenantry worker``, and ``tenantry up`` in-process):
    reconcile, lifecycle jobs, and the worker pool ``pool`` (``*``: every pool; None: none)."""
    interval = services.settings.resync_seconds
    loops = [
        run_forever(default_tasks(services), interval=interval, stop=stop),
        run_jobs(services, stop=stop),
        EgressDispatcher.of(services).run(stop=stop),  # replies to Slack, Telegram
        run_events(services, stop=stop),  # the event outbox onto the bus (issue 13)
        WebhookDispatcher.of(services).run(stop=stop),  # webhook deliveries (issue 13)
    ]
    if pool is not None:
        loops.append(run_pools(services, pool, stop=stop))
    await asyncio.gather(*loops)


async def _sequenced(audit: AuditService) -> None:
    linked = await audit.tick()
    if linked:
        log.info("worker.audit_linked", records=linked)


def default_tasks(services: Services) -> list[Task]:
    reconciling = Reconciling(services.controller, services.controller.clock)

    async def reconcile() -> None:
        outcomes = await reconciling.tick()
        if outcomes:
            results = [o.result for o in outcomes]
            log.info(
                "worker.reconciled",
                tenants=len(outcomes),
                ready=results.count(Result.READY),
                degraded=results.count(Result.DEGRADED),
                failed=results.count(Result.FAILED),
            )

    tasks = [Task("reconcile", reconcile)]
    audit = services.audit.service
    if audit is not None:  # links new audit records into their chains, signs checkpoints
        tasks.append(Task("audit", lambda: _sequenced(audit)))
    retirements = services.retirements
    if retirements is not None:

        async def retire() -> None:
            retired = await retirements.run()
            if retired:
                log.info("worker.migrations_retired", jobs=retired)

        tasks.append(Task("retire", retire))
    return tasks

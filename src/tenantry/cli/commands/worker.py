"""``tenantry worker``: the worker loops (reconcile, lifecycle jobs, a worker pool) in their own
process."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from tenantry.cli import render

if TYPE_CHECKING:
    from tenantry.bootstrap import Services

_STOPPING = (signal.SIGINT, signal.SIGTERM)


def worker(
    ctx: typer.Context,
    pool: Annotated[
        str | None,
        typer.Option(
            help="Run only this worker pool: 'shared' (mt-standard tenants) or 'tenant:ID' (a"
            " dedicated tenant's). Without it: reconcile, lifecycle jobs and the shared pool.",
        ),
    ] = None,
) -> None:
    """Run the worker loops (reconcile, lifecycle jobs, the shared pool) until SIGINT or SIGTERM.

    Any number of workers may share one control database: each job is claimed by one of them,
    and each message is processed by one pool. With --pool it runs that pool alone (no
    reconcile, no jobs). On a stop signal it stops its loops and exits 0; a job it was running
    is resumed where it stopped, by the next worker to claim it once its claim lapses, and a
    message it was processing is delivered again.
    """
    from tenantry.cli import runner
    from tenantry.core.errors import InvalidInput
    from tenantry.tenancy.pools.directory import check_pool

    try:
        chosen = None if pool is None else check_pool(pool)
    except InvalidInput as error:
        runner.fail(error)

    async def work(services: Services) -> None:
        from tenantry.worker.loop import run_worker
        from tenantry.worker.runners.wiring import run_pools

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in _STOPPING:
            loop.add_signal_handler(number, stop.set)
        what = "reconcile, lifecycle jobs, shared pool" if chosen is None else f"pool {chosen}"
        render.out.print(
            f"Tenantry worker {services.jobs.worker} is running ({what});"
            " Ctrl+C or SIGTERM stops it.",
            markup=False,
            highlight=False,
        )
        try:
            if chosen is None:
                await run_worker(services, stop=stop)
            else:
                await run_pools(services, chosen, stop=stop)
        finally:
            for number in _STOPPING:
                loop.remove_signal_handler(number)
        render.out.print("Tenantry worker stopped.", markup=False, highlight=False)

    runner.run(ctx, work)

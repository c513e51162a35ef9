"""``tenantry worker``: the worker loops (reconcile and lifecycle jobs) in their own process."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

import typer

from tenantry.cli import render

if TYPE_CHECKING:
    from tenantry.bootstrap import Services

_STOPPING = (signal.SIGINT, signal.SIGTERM)


def worker(ctx: typer.Context) -> None:
    """Run the worker loops (reconcile and lifecycle jobs) until SIGINT or SIGTERM.

    Any number of workers may share one control database: each job is claimed by one of them.
    On a stop signal it stops its loops and exits 0; a job it was running is resumed where
    it stopped, by the next worker to claim it once its claim lapses.
    """
    from tenantry.cli import runner

    async def work(services: Services) -> None:
        from tenantry.worker.loop import run_worker

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in _STOPPING:
            loop.add_signal_handler(number, stop.set)
        render.out.print(
            f"Tenantry worker {services.jobs.worker} is running (reconcile and lifecycle"
            " jobs); Ctrl+C or SIGTERM stops it.",
            markup=False,
            highlight=False,
        )
        try:
            await run_worker(services, stop=stop)
        finally:
            for number in _STOPPING:
                loop.remove_signal_handler(number)
        render.out.print("Tenantry worker stopped.", markup=False, highlight=False)

    runner.run(ctx, work)

"""``tenantry plans``: the plans tenants may name."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from tenantry.cli import render
from tenantry.cli.options import Output, OutputOption

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.registry.schemas import PlanView

app = typer.Typer(help="List the plans tenants may name.", no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, output: OutputOption = Output.TABLE) -> None:
    """Every plan: those applied bundles defined, and the built-in standard."""
    from tenantry.cli import runner

    async def work(services: Services) -> list[PlanView]:
        return await services.registry.plans()

    plans = runner.run(ctx, work)
    render.emit({"items": plans}, output, lambda: render.plans_table(plans))

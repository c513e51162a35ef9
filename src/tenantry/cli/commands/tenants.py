"""``tenantry tenants``: read the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tenantry.cli import render
from tenantry.cli.options import Output, OutputOption

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.registry.schemas import TenantDetail, TenantSummary

app = typer.Typer(help="Read tenants from the registry.", no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, output: OutputOption = Output.TABLE) -> None:
    """Every tenant with its profile, plan, state, readiness, environments and teams."""
    from tenantry.cli import runner

    async def work(services: Services) -> list[TenantSummary]:
        return await services.registry.list()

    tenants = runner.run(ctx, work)
    render.emit({"items": tenants}, output, lambda: render.tenants_table(tenants))


@app.command()
def get(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(metavar="ID", help="The tenant id.")],
    output: OutputOption = Output.TABLE,
) -> None:
    """One tenant: environments, teams, channels, flows, generation, state and conditions."""
    from tenantry.cli import runner

    async def work(services: Services) -> TenantDetail:
        return await services.registry.get(tenant_id)

    tenant = runner.run(ctx, work)
    render.emit(tenant, output, lambda: render.tenant_detail(tenant))

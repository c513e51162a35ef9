"""``tenantry policies``: the stored policies, and whether a tenant passes its checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tenantry.cli.options import Output, OutputOption

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.policy.views import CheckReport, PolicyView

app = typer.Typer(help="List policies and check a tenant against its own.", no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, output: OutputOption = Output.TABLE) -> None:
    """Every policy applied bundles defined."""
    from tenantry.cli import render, render_policies, runner

    async def work(services: Services) -> list[PolicyView]:
        return await services.policies.list()

    policies = runner.run(ctx, work)
    render.emit({"items": policies}, output, lambda: render_policies.policies_table(policies))


@app.command("check")
def check(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="The tenant to check.")],
    output: OutputOption = Output.TABLE,
) -> None:
    """Run the tenant's policy and plan checks as they stand; exit 4 when one fails."""
    from tenantry.cli import exit_codes, render, render_policies, runner
    from tenantry.core.errors import ErrorKind

    async def work(services: Services) -> CheckReport:
        return await services.policies.check(tenant)

    report = runner.run(ctx, work)
    render.emit(report, output, lambda: render_policies.check_table(report))
    if not report.passed:
        raise typer.Exit(exit_codes.BY_KIND[ErrorKind.CONFLICT])

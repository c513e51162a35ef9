"""``tenantry usage TENANT``: a tenant's metered usage, per resource and per day or hour."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from tenantry.cli import render
from tenantry.cli.options import Output, OutputOption
from tenantry.tenancy.limits.schemas import Granularity

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.limits.schemas import UsageReport


def usage(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(metavar="TENANT", help="The tenant id.")],
    start: Annotated[
        datetime | None,
        typer.Option("--from", help="Inclusive, UTC. Default: the start of this month."),
    ] = None,
    end: Annotated[
        datetime | None, typer.Option("--to", help="Exclusive, UTC. Default: the end of this hour.")
    ] = None,
    resource: Annotated[
        str | None, typer.Option("--resource", help="Only this metered resource.")
    ] = None,
    granularity: Annotated[
        Granularity, typer.Option("--by", help="Sum per day, per hour, or in total.")
    ] = Granularity.DAY,
    output: OutputOption = Output.TABLE,
) -> None:
    """A tenant's metered usage (AI tokens, ...) between --from and --to."""
    from tenantry.cli import runner
    from tenantry.tenancy.limits.meters import Meters
    from tenantry.tenancy.registry.database import session_factory

    async def work(services: Services) -> UsageReport:
        meters = Meters(session_factory(services.engine))
        return await meters.usage(
            tenant_id, start=start, end=end, resource=resource, granularity=granularity
        )

    report = runner.run(ctx, work)
    render.emit(report, output, lambda: _table(report))


def _table(report: UsageReport) -> None:
    from rich.table import Table

    render.out.print(
        f"usage of {report.tenant_id} from {report.start.isoformat()} to {report.end.isoformat()}",
        markup=False,
    )
    if not report.totals:
        render.out.print("no usage recorded in this period", style="dim")
        return
    if report.buckets:
        table = Table("start", "resource", "amount", box=None, pad_edge=False)
        for bucket in report.buckets:
            table.add_row(bucket.start.isoformat(), bucket.resource, f"{bucket.amount:,}")
        render.show(table)
    totals = Table("resource", "total", box=None, pad_edge=False)
    for name, amount in report.totals.items():
        totals.add_row(name, f"{amount:,}")
    render.show(totals)

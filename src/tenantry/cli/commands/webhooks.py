"""``tenantry webhooks``: the operator manages webhook endpoints, of a tenant (``--tenant``) or
of the platform (no ``--tenant``), reads their delivery log and replays deliveries.
Audited as the operator (``cli:<user>``)."""

from __future__ import annotations

import getpass
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tenantry.cli import render
from tenantry.cli.options import Output, OutputOption

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.webhooks.schemas import Added, Delivery, Endpoint, Owner

app = typer.Typer(
    help="Webhook endpoints: add, list, remove, rotate a secret, deliveries, replay.",
    no_args_is_help=True,
)
TenantOption = Annotated[
    str | None,
    typer.Option("--tenant", "-t", help="The tenant whose endpoints; none: the platform's."),
]
IdArgument = Annotated[str, typer.Argument(metavar="ENDPOINT_ID", help="The endpoint id.")]


def _schemas() -> ModuleType:
    """The API's bodies, which render the JSON and YAML output the same as the API answers."""
    from tenantry.api.schemas import webhooks

    return webhooks


def _owner(tenant: str | None) -> Owner:
    from tenantry.tenancy.webhooks.schemas import Owner

    return Owner(tenant, f"cli:{getpass.getuser()}")


@app.command("add")
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where deliveries are POSTed (http or https).")],
    tenant: TenantOption = None,
    event: Annotated[
        list[str] | None,
        typer.Option("--event", "-e", help="An event type or prefix.* (repeatable); none: all."),
    ] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    output: OutputOption = Output.TABLE,
) -> None:
    """Add an endpoint and print its signing secret: shown this once."""
    from tenantry import bootstrap
    from tenantry.cli import runner

    async def work(services: Services) -> Added:
        return await bootstrap.webhooks(services).add(
            _owner(tenant), url=url, filters=event or [], description=description
        )

    added = runner.run(ctx, work)
    render.emit(_schemas().EndpointAdded.of(added), output, lambda: _added(added))


@app.command("list")
def list_(
    ctx: typer.Context, tenant: TenantOption = None, output: OutputOption = Output.TABLE
) -> None:
    """The endpoints of the tenant (or the platform's)."""
    from tenantry import bootstrap
    from tenantry.cli import runner

    async def work(services: Services) -> list[Endpoint]:
        return await bootstrap.webhooks(services).list(_owner(tenant))

    found = runner.run(ctx, work)
    items = [_schemas().EndpointOut.of(e) for e in found]
    render.emit({"items": items}, output, lambda: _endpoints(found))


@app.command("remove")
def remove(ctx: typer.Context, endpoint_id: IdArgument, tenant: TenantOption = None) -> None:
    """Remove an endpoint, its secrets and its delivery log."""
    from tenantry import bootstrap
    from tenantry.cli import runner

    async def work(services: Services) -> None:
        await bootstrap.webhooks(services).remove(_owner(tenant), endpoint_id)

    runner.run(ctx, work)
    render.out.print(f"removed {endpoint_id}", markup=False, highlight=False)


@app.command("rotate")
def rotate(ctx: typer.Context, endpoint_id: IdArgument, tenant: TenantOption = None) -> None:
    """A new signing secret (printed once); the old one signs too until the overlap ends."""
    from tenantry import bootstrap
    from tenantry.cli import runner

    async def work(services: Services) -> str:
        return (await bootstrap.webhooks(services).rotate(_owner(tenant), endpoint_id)).secret

    render.out.print(runner.run(ctx, work), markup=False, highlight=False)


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    endpoint_id: IdArgument,
    tenant: TenantOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    output: OutputOption = Output.TABLE,
) -> None:
    """The endpoint's delivery log, the newest first: status, attempts, latency."""
    from tenantry import bootstrap
    from tenantry.cli import runner

    async def work(services: Services) -> list[Delivery]:
        return await bootstrap.webhooks(services).deliveries(
            _owner(tenant), endpoint_id, limit=limit
        )

    found = runner.run(ctx, work)
    items = [_schemas().DeliveryOut.of(d) for d in found]
    render.emit({"items": items}, output, lambda: _deliveries(found))


@app.command("replay")
def replay(
    ctx: typer.Context,
    endpoint_id: IdArgument,
    tenant: TenantOption = None,
    delivery: Annotated[str | None, typer.Option("--delivery", help="One delivery's id.")] = None,
    since: Annotated[datetime | None, typer.Option("--since", help="From (ISO 8601).")] = None,
    until: Annotated[datetime | None, typer.Option("--until", help="Until (ISO 8601).")] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Send one delivery, or every delivery of a time range, again (signed afresh)."""
    from tenantry import bootstrap
    from tenantry.cli import runner

    async def work(services: Services) -> list[Delivery]:
        return await bootstrap.webhooks(services).replay(
            _owner(tenant), endpoint_id, delivery_id=delivery, since=_utc(since), until=_utc(until)
        )

    made = runner.run(ctx, work)
    items = [_schemas().DeliveryOut.of(d) for d in made]
    render.emit({"items": items}, output, lambda: _deliveries(made))


def _utc(moment: datetime | None) -> datetime | None:
    from datetime import UTC

    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _added(added: Added) -> None:
    render.out.print(added.secret, markup=False, highlight=False)
    render.err.print(
        f"endpoint {added.endpoint.id}: store the signing secret now, it is not shown again",
        markup=False,
    )


def _endpoints(found: list[Endpoint]) -> None:
    table = Table("id", "url", "filters", "disabled", box=None, pad_edge=False)
    for e in found:
        disabled = e.disabled_reason or "" if e.disabled_at else ""
        table.add_row(e.id, e.url, ", ".join(e.filters), disabled)
    render.show(table)


def _deliveries(found: list[Delivery]) -> None:
    table = Table("id", "event", "seq", "status", "attempts", "code", "ms", box=None)
    for d in found:
        code = "" if d.last_status_code is None else str(d.last_status_code)
        latency = "" if d.latency_ms is None else str(d.latency_ms)
        table.add_row(
            d.id, d.event_type, str(d.tenant_seq), d.status.value, str(d.attempts), code, latency
        )
    render.show(table)

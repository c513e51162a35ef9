"""``tenantry flows``: a tenant's applied flows, and a local test run of one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tenantry.cli import render
from tenantry.cli.options import Output, OutputOption

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.runtime.flows.model import FlowDef
    from tenantry.tenancy.flows.catalog import FlowVersion
    from tenantry.tenancy.flows.trial import Exchange

app = typer.Typer(
    help="List a tenant's flows, read one, and test one locally.", no_args_is_help=True
)

TenantArg = Annotated[str, typer.Argument(metavar="TENANT", help="The tenant id.")]
FlowArg = Annotated[
    str,
    typer.Argument(
        metavar="FLOW", help="A flow name, optionally pinned (name@1.0); for test also a YAML file."
    ),
]


@app.command("list")
def list_(ctx: typer.Context, tenant_id: TenantArg, output: OutputOption = Output.TABLE) -> None:
    """Every applied version of a tenant's flows, newest first per flow."""
    from tenantry.cli import runner

    async def work(services: Services) -> list[FlowVersion]:
        return await services.flows.list(tenant_id)

    found = runner.run(ctx, work)
    items = [vars_of(v) for v in found]
    table = [(v.name, v.version, str(v.nodes), v.applied_at) for v in found]
    columns = ("flow", "version", "nodes", "applied")
    render.emit({"items": items}, output, lambda: render.rows(columns, table))


@app.command("get")
def get(
    ctx: typer.Context, tenant_id: TenantArg, flow: FlowArg, output: OutputOption = Output.YAML
) -> None:
    """One flow's definition: a pinned version, or the newest applied."""
    from tenantry.cli import runner
    from tenantry.runtime.flows.model import parse_ref

    name, version = parse_ref(flow)

    async def work(services: Services) -> FlowDef:
        return await services.flows.get(tenant_id, name, version)

    found = runner.run(ctx, work)
    document = definition(found)
    render.emit(document, Output.YAML if output is Output.TABLE else output, lambda: None)


@app.command("test")
def test(
    ctx: typer.Context,
    tenant_id: TenantArg,
    flow: FlowArg,
    message: Annotated[
        list[str], typer.Option("--message", "-m", help="A user message; repeat for a dialogue.")
    ],
    env: Annotated[str, typer.Option("--env", help="The environment.")] = "prod",
    team: Annotated[str | None, typer.Option("--team", help="The team (its secrets).")] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Run a flow locally on --message(s) in a throwaway session and print its replies."""
    from tenantry.cli import runner
    from tenantry.core import ids
    from tenantry.core.context import TenantCtx
    from tenantry.tenancy.flows.trial import trial

    async def work(services: Services) -> list[Exchange]:
        ctx_ = TenantCtx(
            tenant_id=ids.tenant_id(tenant_id),
            env_id=ids.env_id(env),
            team_id=None if team is None else ids.team_id(team),
        )
        found = await _flow(services, tenant_id, flow)
        return await trial(services.scopes, services.flow_engine, ctx_, found, messages=message)

    exchanges = runner.run(ctx, work)
    data = {"turns": [turn_of(e) for e in exchanges]}
    render.emit(data, output, lambda: _print(exchanges))


async def _flow(services: Services, tenant_id: str, flow: str) -> FlowDef:
    from tenantry.runtime.flows.model import FlowDef, parse_ref
    from tenantry.tenancy.manifests import loader

    path = Path(flow)
    if path.suffix in {".yaml", ".yml"}:
        return FlowDef.of(loader.flow_file(path).model_dump(mode="json"))
    name, version = parse_ref(flow)
    return await services.flows.get(tenant_id, name, version)


def _print(exchanges: list[Exchange]) -> None:
    for exchange in exchanges:
        render.out.print(f"> {exchange.message}", style="dim", markup=False)
        for reply in exchange.turn.replies:
            render.out.print(reply, markup=False)
        if exchange.turn.handoff is not None:
            render.out.print(
                f"[handoff {dict(exchange.turn.handoff)}]", style="yellow", markup=False
            )
        if exchange.turn.ended:
            render.out.print("[end]", style="yellow", markup=False)


def vars_of(version: FlowVersion) -> dict[str, Any]:
    return {
        "name": version.name,
        "version": version.version,
        "nodes": version.nodes,
        "digest": version.digest,
        "applied_at": version.applied_at,
    }


def definition(flow: FlowDef) -> dict[str, Any]:
    nodes = []
    for node in flow.nodes:
        item: dict[str, Any] = {"id": node.id, "type": node.type, "config": dict(node.config)}
        if node.next is not None:
            item["next"] = node.next
        nodes.append(item)
    return {"name": flow.name, "version": flow.version, "nodes": nodes}


def turn_of(exchange: Exchange) -> dict[str, Any]:
    turn = exchange.turn
    cursor = turn.cursor
    return {
        "message": exchange.message,
        "replies": list(turn.replies),
        "waiting_at": None if cursor is None else cursor.node,
        "ended": turn.ended,
        "handoff": None if turn.handoff is None else dict(turn.handoff),
        "variables": dict(turn.variables),
    }

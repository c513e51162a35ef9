"""``tenantry reconcile``: make tenants' resources match their specs, now."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from tenantry.cli import render
from tenantry.cli.options import Output, OutputOption

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.audit.schemas import AuditEntry
    from tenantry.tenancy.controller.service import Outcome

CONCURRENCY = 8


def reconcile(
    ctx: typer.Context,
    tenant_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[TENANT]...", help="Tenants to reconcile.")
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="Reconcile every tenant whose spec is not yet observed.")
    ] = False,
    resync: Annotated[
        bool,
        typer.Option(help="With --all, also re-check tenants already in sync (repairs drift)."),
    ] = False,
    wait: Annotated[
        bool, typer.Option(help="Retry degraded tenants (with backoff) until ready or timeout.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait may take.", min=1)] = 120.0,
    output: OutputOption = Output.TABLE,
) -> None:
    """Reconcile tenants: create what is missing; never remove anything.

    Named tenants are always checked. --all takes the tenants whose current generation the
    controller has not observed yet (new, changed or degraded ones): a fleet in sync costs one
    query. Add --resync to re-check every tenant's resources as well.
    """
    from tenantry.cli import exit_codes, runner
    from tenantry.core.errors import ErrorKind, InvalidInput
    from tenantry.tenancy.controller.service import Result

    if bool(tenant_ids) == everyone:
        runner.fail(InvalidInput("name tenants or give --all (not both)", code="usage.invalid"))

    async def work(services: Services) -> list[Outcome]:
        controller = services.controller
        ids = tenant_ids or await (controller.everyone() if resync else controller.due())
        outcomes = await _pass(services, ids)
        if wait:
            outcomes = await _retry(services, outcomes, within=timeout)
        await services.audit.record([_reconciled(o) for o in outcomes if o.steps])
        return outcomes

    outcomes = runner.run(ctx, work)
    data = {"items": [_plain(o) for o in outcomes]}
    render.emit(data, output, lambda: render.outcomes_table(outcomes))
    results = {o.result for o in outcomes}
    if Result.FAILED in results:
        raise typer.Exit(exit_codes.BY_KIND[ErrorKind.INVALID])
    if Result.DEGRADED in results:
        raise typer.Exit(exit_codes.BY_KIND[ErrorKind.UNAVAILABLE])


def _plain(outcome: Outcome) -> dict[str, object]:
    return {
        "tenant_id": outcome.tenant_id,
        "result": outcome.result.value,
        "steps": list(outcome.steps),
        "message": outcome.message,
    }


async def _pass(services: Services, ids: list[str]) -> list[Outcome]:
    from rich.progress import Progress

    with Progress(console=render.err, transient=True) as progress:
        task = progress.add_task("reconciling", total=len(ids))
        return await services.controller.reconcile_many(
            ids, concurrency=CONCURRENCY, done=lambda _: progress.advance(task)
        )


async def _retry(services: Services, outcomes: list[Outcome], *, within: float) -> list[Outcome]:
    from tenantry.tenancy.controller.backoff import delay
    from tenantry.tenancy.controller.service import Result

    deadline = asyncio.get_running_loop().time() + within
    by_id = {o.tenant_id: o for o in outcomes}
    attempt = 0
    while pending := [t for t, o in by_id.items() if o.result is Result.DEGRADED]:
        pause = delay(attempt, base=0.5, cap=10)
        if asyncio.get_running_loop().time() + pause > deadline:
            break
        await asyncio.sleep(pause)
        by_id |= {o.tenant_id: o for o in await _pass(services, pending)}
        attempt += 1
    return list(by_id.values())


def _reconciled(outcome: Outcome) -> AuditEntry:
    """The record of a reconcile the operator ran that had steps (the controller records
    what each step created, in the transaction recording it as owned)."""
    from tenantry.cli.commands.tokens import default_principal
    from tenantry.tenancy.audit import schemas as audit
    from tenantry.tenancy.controller.service import Result

    ready = outcome.result in {Result.READY, Result.SKIPPED}
    return audit.AuditEntry(
        actor=default_principal(),
        action="tenant.reconcile",
        tenant_id=outcome.tenant_id,
        outcome=audit.Outcome.SUCCEEDED if ready else audit.Outcome.FAILED,
        details={"result": outcome.result.value, "steps": list(outcome.steps)},
        target=outcome.tenant_id,
    )

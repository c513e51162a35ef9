"""``tenantry migrate``: bring every tenant environment's data to the newest tenant schema."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tenantry.cli import render
from tenantry.cli.options import Output, OutputOption

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.audit.schemas import AuditEntry
    from tenantry.tenancy.schema.service import Result


def migrate(
    ctx: typer.Context,
    concurrency: Annotated[
        int, typer.Option(help="Tenant environments migrated at once.", min=1, max=64)
    ] = 4,
    output: OutputOption = Output.TABLE,
) -> None:
    """Migrate tenant data to head; a fleet already at head costs one query.

    Failures are reported per tenant environment and do not stop the others; running the
    command again resumes with whatever is still behind (exit code 1 if any failed).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tenantry.cli import runner

    async def work(services: Services) -> tuple[str, list[Result]]:
        pending = await services.migrator.pending()
        if not pending:
            return services.migrator.head, []
        columns = (TextColumn("migrating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=render.err, transient=True) as progress:
            task = progress.add_task("migrate", total=len(pending))
            results = await services.migrator.upgrade(
                pending, concurrency=concurrency, progress=lambda _: progress.advance(task)
            )
        await services.audit.record([_migrated(r, services.migrator.head) for r in results])
        return services.migrator.head, results

    head, results = runner.run(ctx, work)
    failed = [r for r in results if r.error]
    data = {
        "head": head,
        "migrated": len(results) - len(failed),
        "failed": [
            {"tenant_id": r.tenant_id, "env_id": r.env_id, "error": r.error} for r in failed
        ],
    }
    render.emit(data, output, lambda: render.migration_summary(head, results))
    if failed:
        raise typer.Exit(1)


def _migrated(result: Result, head: str) -> AuditEntry:
    """The record of one tenant environment's migration, by the operator who ran it."""
    from tenantry.cli.commands.tokens import default_principal
    from tenantry.tenancy.audit import schemas as audit

    return audit.AuditEntry(
        actor=default_principal(),
        action="tenant_schema.migrate",
        tenant_id=result.tenant_id,
        outcome=audit.Outcome.FAILED if result.error else audit.Outcome.SUCCEEDED,
        details={"head": head, **({"error": result.error} if result.error else {})},
        env_id=result.env_id,
    )

"""``tenantry audit``: list, verify, export and prune the hash-chained audit log (docs/audit.md).

``verify`` exits 0 when every chain is intact and :data:`~tenantry.cli.exit_codes.INTEGRITY`
when one is not, naming the first bad record of each broken chain.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tenantry.cli import exit_codes, render
from tenantry.cli.options import Output, OutputOption

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tenantry.bootstrap import Services
    from tenantry.tenancy.audit.schemas import AuditItem, Verdict
    from tenantry.tenancy.audit.service import AuditService
    from tenantry.tenancy.audit.splitting import Progress

app = typer.Typer(help="List, verify, export and prune the audit log.", no_args_is_help=True)

ChainOption = Annotated[
    str | None,
    typer.Option("--tenant", "-t", help="One chain: a tenant id, or @platform. Default: all."),
]


def _service(services: Services) -> AuditService:
    from tenantry.tenancy.audit.log import PseudonymKeyMissing

    found = services.audit.service
    if found is None:
        raise PseudonymKeyMissing("the audit log has no keys", code="audit.keys_missing")
    return found


def _chain(tenant: str | None) -> str | None:
    from tenantry.tenancy.audit.service import chain_named

    return None if tenant is None else chain_named(tenant)


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: ChainOption = None,
    since: Annotated[datetime | None, typer.Option(help="Records at or after (UTC).")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action.")] = None,
    user: Annotated[
        list[str] | None, typer.Option(help="Show this user id where its pseudonym matches.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.", min=1, max=1000)] = 100,
    output: OutputOption = Output.TABLE,
) -> None:
    """Records, newest first (pending ones, not yet chained, show no seq)."""
    from tenantry.cli import runner
    from tenantry.tenancy.audit.service import Query

    async def work(services: Services) -> list[AuditItem]:
        chain = _chain(tenant)
        query = Query(chain=chain, since=since, action=action, limit=limit, users=user or [])
        return await _service(services).records(query)

    found = runner.run(ctx, work)
    render.emit({"items": found}, output, lambda: _records_table(found))


@app.command()
def verify(
    ctx: typer.Context,
    tenant: ChainOption = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Verify this export offline (no database is opened)."),
    ] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Check every chain's hashes and signed checkpoints; exit 9 naming the first bad record."""
    from tenantry.cli import runner
    from tenantry.core.errors import TenantryError

    if file is not None:
        try:
            with _progress("verifying the export") as progress:
                verdict = _verify_file(ctx, file, progress)
        except TenantryError as error:
            runner.fail(error)
    else:
        with _progress("verifying") as progress:

            async def work(services: Services) -> Verdict:
                return await _service(services).verify(chain=_chain(tenant), progress=progress)

            verdict = runner.run(ctx, work)
    render.emit(_verdict_data(verdict), output, lambda: _verdict_table(verdict))
    if not verdict.intact:
        raise typer.Exit(exit_codes.INTEGRITY)


@contextmanager
def _progress(label: str) -> Iterator[Progress | None]:
    """A progress bar on standard error while long chains verify in ranges (a terminal only)."""
    if not render.err.is_terminal:
        yield None
        return
    from rich.progress import Progress as Bar

    with Bar(console=render.err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _verify_file(ctx: typer.Context, file: Path, progress: Progress | None) -> Verdict:
    from datetime import timedelta

    from tenantry.cli import runner
    from tenantry.tenancy.audit.export import ExportInvalid
    from tenantry.tenancy.audit.splitting import Split, verify_file

    settings = runner.settings_of(ctx)
    settle = timedelta(seconds=settings.audit_settle_seconds)
    split = Split(processes=settings.audit_verify_processes)
    try:
        return verify_file(file, settle=settle, split=split, progress=progress)
    except OSError as error:
        raise ExportInvalid(f"cannot read {file}: {error.strerror}") from error


@app.command()
def export(
    ctx: typer.Context,
    tenant: ChainOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here. Default: standard output.")
    ] = None,
) -> None:
    """JSON lines: the checkpoint keys, the checkpoints and every link with its record."""
    from tenantry.cli import runner

    async def work(services: Services) -> int:
        chain = _chain(tenant)
        if out is None:
            return await _service(services).export(sys.stdout, chain=chain)
        with out.open("w", encoding="utf-8") as handle:
            return await _service(services).export(handle, chain=chain)

    written = runner.run(ctx, work)
    render.err.print(f"exported {written} records", style="dim")


@app.command()
def prune(
    ctx: typer.Context,
    before: Annotated[datetime, typer.Option(help="Remove records older than this (UTC).")],
    owner_url: Annotated[
        str | None,
        typer.Option(
            envvar="TENANTRY_DATABASE_OWNER_URL",
            help="The audit tables' owner role (PostgreSQL). Default: the database URL.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Remove each chain's records older than --before behind a signed prune checkpoint."""
    from tenantry.cli import runner
    from tenantry.cli.commands.tokens import default_principal
    from tenantry.tenancy.audit import pruning_access
    from tenantry.tenancy.registry import database

    async def work(services: Services) -> dict[str, int]:
        settings = services.settings
        engine = (
            database.owner_engine(owner_url) if owner_url else pruning_access.owner_engine(settings)
        )
        try:
            owner = database.session_factory(engine)
            actor = default_principal()
            return await _service(services).prune(_utc(before), owner=owner, actor=actor)
        finally:
            await engine.dispose()

    removed = runner.run(ctx, work)
    render.rows(["chain", "removed"], [(c, str(n)) for c, n in sorted(removed.items())])


def _utc(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _records_table(found: list[AuditItem]) -> None:
    from rich.table import Table

    table = Table("id", "ts", "chain", "seq", "actor", "action", "outcome", "target", "user")
    table.box, table.pad_edge = None, False
    for item in found:
        seq = "pending" if item.seq is None else str(item.seq)
        table.add_row(
            str(item.id),
            item.ts.isoformat(timespec="seconds"),
            item.chain or (item.tenant_id or "@platform"),
            seq,
            item.actor,
            item.action,
            item.outcome,
            item.target or "",
            item.user or "",
        )
    render.show(table)


def _verdict_data(verdict: Verdict) -> dict[str, object]:
    from dataclasses import asdict

    return {"intact": verdict.intact, "chains": [asdict(report) for report in verdict.chains]}


def _verdict_table(verdict: Verdict) -> None:
    from rich.table import Table

    table = Table("chain", "verified", "head", "checkpoints", "pending", "status")
    table.box, table.pad_edge = None, False
    for report in verdict.chains:
        status = "intact" if report.breach is None else "BROKEN"
        table.add_row(
            report.chain,
            str(report.verified),
            str(report.head),
            str(report.checkpoints),
            str(report.pending),
            status,
        )
    render.show(table)
    for breach in verdict.breaches:
        named = "" if breach.record_id is None else f" record {breach.record_id}"
        render.err.print(
            f"chain {breach.chain}: first bad link seq {breach.seq}{named}: {breach.reason}",
            style="red",
            markup=False,
        )

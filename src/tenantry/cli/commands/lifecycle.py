"""``tenantry suspend|resume|archive|restore|rotate-keys|delete``: a tenant's life, as jobs.

Each command requests its transition's job, as ``cli:<operating-system user>``, and prints the
job's id; ``--wait`` follows the job to its end, running it in this process when no worker
claims it (docs/lifecycle.md). Archive and delete ask first unless ``--yes``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tenantry.cli import exit_codes, render

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.lifecycle.jobs import Job

TenantArgument = Annotated[str, typer.Argument(metavar="TENANT", help="The tenant id.")]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="Wait for the job to end, with a progress bar per step; run it here when no "
        "worker takes it within 1.5 s.",
    ),
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a TTY).")
]


def suspend(
    ctx: typer.Context, tenant: TenantArgument, wait: WaitOption = False, yes: YesOption = False
) -> None:
    """Suspend a tenant: its credentials and scopes are refused until it is resumed."""
    del yes  # nothing is lost: suspending asks nothing
    request(ctx, "suspend", tenant, wait=wait)


def resume(
    ctx: typer.Context, tenant: TenantArgument, wait: WaitOption = False, yes: YesOption = False
) -> None:
    """Resume a suspended tenant: it serves again."""
    del yes
    request(ctx, "resume", tenant, wait=wait)


def archive(
    ctx: typer.Context, tenant: TenantArgument, wait: WaitOption = False, yes: YesOption = False
) -> None:
    """Archive a tenant: export its data to the archive area, then take it out of service."""
    confirm(f"Archive {tenant}? It stops serving at once, and its data moves to the archive.", yes)
    request(ctx, "archive", tenant, wait=wait)


def restore(
    ctx: typer.Context, tenant: TenantArgument, wait: WaitOption = False, yes: YesOption = False
) -> None:
    """Restore an archived tenant from its archive; it ends active."""
    del yes
    request(ctx, "restore", tenant, wait=wait)


def rotate_keys(
    ctx: typer.Context, tenant: TenantArgument, wait: WaitOption = False, yes: YesOption = False
) -> None:
    """Rotate a tenant's key-encryption key and re-wrap its sealed data with the new one."""
    del yes
    request(ctx, "rotate-keys", tenant, wait=wait)


def delete(
    ctx: typer.Context,
    tenant: TenantArgument,
    now: Annotated[
        bool, typer.Option("--now", help="Purge now instead of after the retention period.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even a tenant with prevent_deletion: true.")
    ] = False,
    wait: WaitOption = False,
    yes: YesOption = False,
) -> None:
    """Delete a tenant: refused at once, purged (keys shredded) after its retention period.

    With --wait it returns once the purge is scheduled, or, with --now, once it is done.
    `tenantry jobs cancel ID` before the purge gives the tenant back its previous state.
    """
    when = "NOW, destroying its data and keys" if now else "after its retention period"
    protected = " even if it has prevent_deletion: true" if force else ""
    confirm(f"Delete {tenant}{protected}? It stops serving at once and is purged {when}.", yes)
    request(ctx, "delete", tenant, wait=wait, options={"now": now, "force": force})


def confirm(question: str, yes: bool) -> None:
    """Ask ``question`` (default no); without a terminal, ``--yes`` must have said it."""
    if yes:
        return
    if not interactive():
        render.err.print(
            f"error (confirmation.required): {question} Pass --yes to confirm it without a"
            " terminal.",
            style="red",
            markup=False,
        )
        raise typer.Exit(exit_codes.USAGE)
    if not typer.confirm(question, default=False, err=True):
        render.err.print("Nothing done.")
        raise typer.Exit(1)


def interactive() -> bool:
    """Whether someone can answer a question: standard input is a terminal."""
    return sys.stdin.isatty()


def request(
    ctx: typer.Context,
    kind: str,
    tenant: str,
    *,
    wait: bool,
    options: dict[str, Any] | None = None,
) -> None:
    """Request ``kind`` of ``tenant`` and print its job; with ``wait``, follow it to its end."""
    from tenantry.cli import render_jobs, runner
    from tenantry.cli.audited import by_operator, transition_action
    from tenantry.cli.commands.tokens import default_principal
    from tenantry.tenancy.lifecycle.states import JobKind

    actor = default_principal()

    async def work(services: Services) -> Job:
        audit = by_operator(transition_action(kind), tenant)
        job = await services.lifecycle.request(
            JobKind(kind), tenant, actor=actor, options=options, audit=audit
        )
        render_jobs.requested(job, waiting=wait)
        return await follow(services, job.id, run_here=True) if wait else job

    job = runner.run(ctx, work)
    if wait:
        render_jobs.ended(job)


async def follow(services: Services, job_id: str, *, run_here: bool) -> Job:
    """Follow a job to its end with a bar per step (running it here if ``run_here`` and no
    worker takes it); a job that failed or was cancelled is raised as its error."""
    from tenantry.cli import render_jobs
    from tenantry.tenancy.lifecycle import waiting

    runner = services.jobs if run_here else None
    with render_jobs.Bars() as bars:
        job = await waiting.wait(services.lifecycle, runner, job_id, seen=bars.seen)
    error = waiting.outcome(job)
    if error is not None:
        raise error
    return job

"""``tenantry jobs``: list, read, watch, cancel and retry lifecycle jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tenantry.cli import render
from tenantry.cli.options import Output, OutputOption
from tenantry.tenancy.lifecycle.jobs import JobState

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.lifecycle.jobs import Job

app = typer.Typer(help="List, read, watch, cancel and retry lifecycle jobs.", no_args_is_help=True)

JobArgument = Annotated[
    str, typer.Argument(metavar="ID", help="The job id (32 hex digits, as `jobs list` shows).")
]


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="One tenant's.")] = None,
    state: Annotated[JobState | None, typer.Option("--state", help="Jobs in this state.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.", min=1, max=1000)] = 100,
    output: OutputOption = Output.TABLE,
) -> None:
    """Jobs, newest first, with their tenant, kind, state, progress and requester."""
    from tenantry.cli import render_jobs, runner

    async def work(services: Services) -> list[Job]:
        return await services.lifecycle.list(tenant_id=tenant, state=state, limit=limit)

    found = runner.run(ctx, work)
    render.emit({"items": found}, output, lambda: render_jobs.jobs_table(found))


@app.command()
def get(ctx: typer.Context, job_id: JobArgument, output: OutputOption = Output.TABLE) -> None:
    """One job: its state and each step's attempts, start and end times and last error."""
    from tenantry.cli import render_jobs, runner

    async def work(services: Services) -> Job:
        return await services.lifecycle.get(job_id)

    job = runner.run(ctx, work)
    render.emit(job, output, lambda: render_jobs.job_detail(job))


@app.command()
def watch(
    ctx: typer.Context,
    job_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="The job id (or give --tenant).")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="Follow this tenant's newest job.")
    ] = None,
) -> None:
    """Follow a job with a live progress bar per step until it ends (exit 5 if it fails).

    Name the job, or a tenant with --tenant to follow its newest job (the migrate job a profile
    change started, for one). It never runs the job itself: a worker (`tenantry worker`,
    `tenantry up`) must, or a transition command's --wait. A job scheduled for later ends the
    watch at once.
    """
    from tenantry.cli import runner
    from tenantry.cli.commands.lifecycle import follow
    from tenantry.core.errors import InvalidInput

    if (job_id is None) == (tenant is None):
        runner.fail(InvalidInput("name a job ID or --tenant, one of them", code="cli.usage"))

    async def work(services: Services) -> Job:
        found = job_id or await _newest(services, str(tenant))
        return await follow(services, found, run_here=False)

    from tenantry.cli import render_jobs

    render_jobs.ended(runner.run(ctx, work))


async def _newest(services: Services, tenant: str) -> str:
    from tenantry.tenancy.lifecycle.service import JobNotFound

    newest = await services.lifecycle.list(tenant_id=tenant, limit=1)
    if not newest:
        raise JobNotFound(f"tenant {tenant!r} has no job", details={"tenant_id": tenant})
    return newest[0].id


@app.command()
def cancel(ctx: typer.Context, job_id: JobArgument) -> None:
    """Cancel a job: at once if no worker runs it, else at its next step boundary."""
    from tenantry.cli import runner
    from tenantry.cli.audited import by_operator

    async def work(services: Services) -> Job:
        return await services.lifecycle.cancel(job_id, audit=by_operator("job.cancel", job_id))

    job = runner.run(ctx, work)
    if job.state is JobState.CANCELLED:
        text = f"job {job.id} cancelled; {job.tenant_id} is {job.previous_state.value} again"
    else:
        text = f"job {job.id} stops at its next step boundary: tenantry jobs watch {job.id}"
    render.out.print(text, markup=False, highlight=False)


@app.command()
def retry(
    ctx: typer.Context,
    job_id: JobArgument,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for it; run it here if no worker takes it.")
    ] = False,
) -> None:
    """Queue a failed job again: it resumes at the step that failed."""
    from tenantry.cli import render_jobs, runner
    from tenantry.cli.audited import by_operator
    from tenantry.cli.commands.lifecycle import follow

    async def work(services: Services) -> Job:
        job = await services.lifecycle.retry(job_id, audit=by_operator("job.retry", job_id))
        render_jobs.requested(job, waiting=wait)
        return await follow(services, job.id, run_here=True) if wait else job

    job = runner.run(ctx, work)
    if wait:
        render_jobs.ended(job)

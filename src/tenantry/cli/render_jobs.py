"""Jobs for people: a table of jobs, one job's steps, and a live progress bar per step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Column, Table
from rich.text import Text

from tenantry.cli import render

if TYPE_CHECKING:
    from tenantry.tenancy.lifecycle.jobs import Job, StepRecord

_STATE_STYLE = {
    "queued": "cyan",
    "scheduled": "cyan",
    "running": "yellow",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "dim",
    "pending": "dim",
    "done": "green",
    "undone": "magenta",
}


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else "-"


def _state(value: str) -> Text:
    return Text(value, style=_STATE_STYLE.get(value, ""))


def jobs_table(jobs: Sequence[Job]) -> None:
    if not jobs:
        render.out.print("No jobs.")
        return
    # The id is what `jobs get|watch|cancel|retry` take; ids, kinds and states are never
    # shortened, the time and the error wrap instead (`jobs get` and -o json show the rest).
    table = Table(
        Column("id", no_wrap=True, min_width=32),
        Column("tenant", no_wrap=True),
        Column("kind", no_wrap=True),
        Column("state", no_wrap=True),
        Column("done", no_wrap=True, justify="right"),
        "requested",
        "error",
        box=None,
        pad_edge=False,
    )
    for job in jobs:
        table.add_row(
            Text(job.id),
            Text(job.tenant_id),
            Text(job.kind.value),
            _state(job.state.value),
            f"{job.progress}%",
            f"{job.created_at:%m-%d %H:%M}",
            Text(job.error or ""),
        )
    render.show(table)


def job_detail(job: Job) -> None:
    render.out.print(Text(job.id, style="bold") + Text(f" {job.kind.value} of {job.tenant_id}"))
    for label, value in (
        ("state", job.state.value + (" (cancel requested)" if job.cancel_requested else "")),
        ("progress", f"{job.progress}%"),
        ("tenant was", job.previous_state.value),
        ("requested by", job.requested_by),
        ("correlation id", job.correlation_id),
        ("requested", _when(job.created_at)),
        ("not before", _when(job.not_before) if job.not_before else None),
        ("claimed by", job.claimed_by),
        ("finished", _when(job.finished_at) if job.finished_at else None),
        ("error", job.error),
    ):
        if value is not None:
            render.out.print(f"  {label}: {value}", markup=False, highlight=False)
    if not job.steps:
        return
    table = Table(
        "step", "state", "attempts", "started", "ended", "error", title="steps",
        title_justify="left", box=None, pad_edge=False,
    )  # fmt: skip
    for step in job.steps:
        table.add_row(
            Text(step.name + (" (final)" if step.final else "")),
            _state(step.state.value),
            str(step.attempts),
            _when(step.started_at),
            _when(step.ended_at),
            Text(step.error or ""),
        )
    render.show(table)


def requested(job: Job, *, waiting: bool) -> None:
    """What a transition command says once its job is requested."""
    render.out.print(
        f"{job.kind.value} of {job.tenant_id}: job {job.id} ({job.state.value})",
        markup=False,
        highlight=False,
    )
    if job.not_before is not None and job.state.value == "scheduled":
        render.out.print(f"  runs at {_when(job.not_before)} UTC", markup=False)
    if not waiting:
        render.out.print(f"  watch it: tenantry jobs watch {job.id}", markup=False)


def ended(job: Job) -> None:
    """The last line of a wait."""
    if job.state.value == "scheduled":
        text = f"job {job.id} is scheduled for {_when(job.not_before)} UTC; the tenant is waiting"
    else:
        text = f"job {job.id} {job.state.value}"
    render.out.print(text, markup=False, highlight=False)


class Bars:
    """A live progress bar per step of a job (on standard error), as the job is read."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TextColumn("{task.fields[state]}", markup=False),
            console=console or render.err,
            transient=False,
        )
        self._job: TaskID | None = None
        self._steps: dict[str, TaskID] = {}

    def __enter__(self) -> Bars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def seen(self, job: Job) -> None:
        label = f"{job.kind.value} {job.tenant_id}"
        if self._job is None:
            self._job = self.progress.add_task(label, total=100, state="")
        self.progress.update(self._job, completed=job.progress, state=job.state.value)
        for step in job.steps:
            self._step(step)

    def _step(self, step: StepRecord) -> None:
        task = self._steps.get(step.name)
        if task is None:
            task = self.progress.add_task(f"  {step.name}", total=1, state="")
            self._steps[step.name] = task
        attempts = f" (attempt {step.attempts})" if step.attempts > 1 else ""
        state = step.state.value + attempts + (f": {step.error}" if step.error else "")
        done = 1 if step.state.value in {"done", "undone"} else 0
        self.progress.update(task, completed=done, state=state)

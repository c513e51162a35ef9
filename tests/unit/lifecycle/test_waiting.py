"""When a wait for a job is over, and what a waiter reports for the way it ended (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenantry.core.errors import ErrorKind
from tenantry.tenancy.lifecycle.jobs import Job, JobState, StepRecord, StepState
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.lifecycle.waiting import outcome, settled

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def job(state: JobState, *, not_before: datetime | None = None, **extra: object) -> Job:
    fields: dict[str, object] = {
        "id": "0" * 32,
        "tenant_id": "acme",
        "kind": JobKind.DELETE,
        "state": state,
        "steps": [],
        "progress": 0,
        "params": {},
        "previous_state": LifecycleState.ACTIVE,
        "requested_by": "test",
        "correlation_id": None,
        "cancel_requested": False,
        "not_before": not_before,
        "claimed_by": None,
        "error": None,
        "created_at": NOW,
        "updated_at": NOW,
        "finished_at": None,
    }
    return Job.model_validate(fields | extra)


LATER = NOW + timedelta(days=30)


@pytest.mark.parametrize(
    ("state", "not_before", "over"),
    [
        (JobState.QUEUED, None, False),
        (JobState.RUNNING, None, False),
        (JobState.SCHEDULED, NOW - timedelta(seconds=1), False),  # due: it will run now
        (JobState.SCHEDULED, LATER, True),  # a delete under retention: nothing to wait for now
        (JobState.SUCCEEDED, None, True),
        (JobState.FAILED, None, True),
        (JobState.CANCELLED, None, True),
    ],
)
def test_a_wait_is_over_when_the_job_ended_or_waits_for_later(
    state: JobState, not_before: datetime | None, over: bool
) -> None:
    assert settled(job(state, not_before=not_before), NOW) is over


def test_a_failed_job_reports_its_step_its_error_and_the_retry() -> None:
    steps = [
        StepRecord(name="export", state=StepState.UNDONE, attempts=1),
        StepRecord(name="verify", state=StepState.FAILED, attempts=3, error="checksum"),
    ]
    error = outcome(job(JobState.FAILED, steps=steps, error="checksum"))
    assert error is not None
    assert (error.code, error.kind) == ("job.failed", ErrorKind.UNAVAILABLE)
    assert "at step verify: checksum" in error.message
    assert f"tenantry jobs retry {'0' * 32}" in error.message


def test_a_cancelled_job_is_a_conflict_and_a_success_is_no_error() -> None:
    cancelled = outcome(job(JobState.CANCELLED))
    assert cancelled is not None and cancelled.kind is ErrorKind.CONFLICT
    assert outcome(job(JobState.SUCCEEDED)) is None
    assert outcome(job(JobState.SCHEDULED, not_before=LATER)) is None

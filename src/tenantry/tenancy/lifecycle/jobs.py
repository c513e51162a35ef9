"""What a job is: its states, its step records and the view every adapter shows."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState


class JobState(enum.StrEnum):
    QUEUED = "queued"  # waiting for a worker
    SCHEDULED = "scheduled"  # waiting for its time (a delete under retention)
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a step failed for good; ``retry`` resumes it
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in {JobState.QUEUED, JobState.SCHEDULED, JobState.RUNNING}


class StepState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    UNDONE = "undone"  # rolled back by a cancel or a failure


class StepRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    final: bool = False  # the point of no return (see ``steps.Step``)
    state: StepState = StepState.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None


class Job(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    env_id: str | None = None  # set for a job scoped to one environment (its purge)
    kind: JobKind
    state: JobState
    steps: list[StepRecord]
    progress: int  # percent of steps done
    params: dict[str, Any]  # the request's options and what steps recorded for later ones
    previous_state: LifecycleState  # the tenant's state when the job was requested
    requested_by: str
    correlation_id: str | None
    cancel_requested: bool
    not_before: datetime | None
    claimed_by: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    def step(self, name: str) -> StepRecord:
        return next(s for s in self.steps if s.name == name)


class JobList(BaseModel):
    items: list[Job]

"""The audit record of a lifecycle job's step that ended (done, failed or undone), appended in
the transaction that saves the step's state."""

from __future__ import annotations

from typing import Final

from tenantry.tenancy.audit.schemas import AuditEntry, Outcome
from tenantry.tenancy.lifecycle.jobs import Job, StepRecord, StepState

ACTOR: Final = "lifecycle"  # the job runner, acting for the job's requester (in details)
ACTION: Final = "job.step"
_OUTCOMES: Final = {StepState.DONE: Outcome.SUCCEEDED, StepState.UNDONE: Outcome.SUCCEEDED}


def ended(job: Job, step: StepRecord) -> AuditEntry:
    """A step's end: succeeded when done or undone, failed otherwise; never a step's outputs."""
    details = {
        "job_id": job.id,
        "kind": job.kind.value,
        "step": step.name,
        "state": step.state.value,
        "attempts": step.attempts,
        "requested_by": job.requested_by,
        **({"error": step.error} if step.error else {}),
    }
    return AuditEntry(
        actor=ACTOR,
        action=ACTION,
        tenant_id=job.tenant_id,
        outcome=_OUTCOMES.get(step.state, Outcome.FAILED),
        correlation_id=job.correlation_id,
        details=details,
        env_id=job.env_id,
        target=f"job:{job.id}/{step.name}",
    )

"""Run a claimed job's steps, persisting progress after each, until it ends.

A worker claims a job (``repository.claim``), renews the claim while a step runs, and writes
every step record under the claim: a worker killed at any point leaves the job claimed until
the claim expires, and the next worker resumes at the first step not done (steps are
idempotent, so the step that was running runs again). At each step boundary the runner checks
for a cancel; a cancel or a permanent failure before any ``final`` step undoes the done steps
in reverse order and gives the tenant back its previous state. Transient errors are retried
with backoff, a bounded number of times, within the step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import TenantryError
from tenantry.core.logging import get_logger
from tenantry.tenancy.audit import log as audit_log
from tenantry.tenancy.audit.schemas import AuditEntry
from tenantry.tenancy.controller.backoff import delay
from tenantry.tenancy.lifecycle import repository, step_audit
from tenantry.tenancy.lifecycle.announce import Change, announce
from tenantry.tenancy.lifecycle.jobs import Job, JobState, StepRecord, StepState
from tenantry.tenancy.lifecycle.service import finish_cancelled, follow_preempting_suspend
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState, of_job
from tenantry.tenancy.lifecycle.steps import Maintenance, Recipes, Step, Work
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated

log = get_logger(__name__)
ATTEMPTS = 3  # of a step failing with a transient error, before the job fails


class ClaimLost(TenantryError):
    code = "job.claim_lost"


def worker_name() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobRunner:
    def __init__(
        self,
        sessions: SessionFactory,
        recipes: Recipes,
        maintenance: Maintenance,
        *,
        clock: Clock = utc_now,
        lease: float = 15.0,
        worker: str | None = None,
    ) -> None:
        self._sessions, self._recipes, self._maintenance = sessions, recipes, maintenance
        self._clock, self._lease = clock, lease
        self.worker = worker or worker_name()

    @property
    def recipes(self) -> Recipes:
        return self._recipes

    def variant(self, recipes: Recipes | None = None, *, worker: str | None = None) -> JobRunner:
        """This runner with other recipes or under another worker name (tests, tools)."""
        return JobRunner(
            self._sessions,
            self._recipes if recipes is None else recipes,
            self._maintenance,
            clock=self._clock,
            lease=self._lease,
            worker=worker,
        )

    async def due(self, *, limit: int) -> list[str]:
        """Jobs due now and not held by a live claim."""
        async with translated(), self._sessions() as session:
            return await repository.claimable(session, self._clock(), limit=limit)

    async def run(self, job_id: str) -> Job | None:
        """Claim and run the job to its end; None when another worker holds it."""
        if not await self._claim(job_id):
            return None
        try:
            async with self._renewing(job_id):
                return await self._run(job_id)
        except ClaimLost:
            log.warning("lifecycle.claim_lost", job_id=job_id, worker=self.worker)
            return None

    async def _claim(self, job_id: str) -> bool:
        now = self._clock()
        until = now + timedelta(seconds=self._lease)
        async with translated(), self._sessions() as session, session.begin():
            return await repository.claim(session, job_id, self.worker, now=now, until=until)

    @contextlib.asynccontextmanager
    async def _renewing(self, job_id: str) -> AsyncIterator[None]:
        async def renew() -> None:
            while True:
                await asyncio.sleep(self._lease / 3)
                until = self._clock() + timedelta(seconds=self._lease)
                with contextlib.suppress(TenantryError):
                    await self._write(job_id, claim_expires_at=until)

        renewing = asyncio.create_task(renew())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError, ClaimLost):
                await renewing

    async def _run(self, job_id: str) -> Job:
        job = await self._load(job_id)
        steps = self._recipes[job.kind](job)
        records = _records(job, steps)
        if job.progress == 0 and all(r.attempts == 0 for r in records):
            await self._announce(job_id, Change.STARTED)
        work = Work(job, self._maintenance, lambda out: self._save_outputs(job_id, out))
        work.outputs.update(job.params.get("outputs", {}))
        for index, step in enumerate(steps):
            if records[index].state is StepState.DONE:
                continue
            if (await self._load(job_id)).cancel_requested:
                return await self._cancel(job_id, steps, records)
            records[index] = await self._attempt(job_id, step, records, index, work)
            if records[index].state is StepState.FAILED:
                return await self._fail(job_id, steps, records, records[index].error or "")
        return await self._succeed(job_id)

    async def _attempt(
        self, job_id: str, step: Step, records: list[StepRecord], index: int, work: Work
    ) -> StepRecord:
        record = records[index]
        while True:
            record = record.model_copy(
                update={
                    "state": StepState.RUNNING,
                    "attempts": record.attempts + 1,
                    "started_at": self._clock(),
                    "ended_at": None,
                }
            )
            records[index] = record
            await self._save_steps(job_id, records)
            log.info("lifecycle.step", job_id=job_id, step=step.name, attempt=record.attempts)
            try:
                await step.run(work)
            except ClaimLost:
                raise
            except TenantryError as error:
                if error.kind.transient and record.attempts < ATTEMPTS:
                    await asyncio.sleep(delay(record.attempts - 1, base=0.5, cap=10.0))
                    record = record.model_copy(update={"error": error.message})
                    continue
                return await self._ended(work.job, records, index, StepState.FAILED, error.message)
            except Exception as error:  # a job outlives surprises: the step fails, retry resumes
                log.exception("lifecycle.step_error", job_id=job_id, step=step.name)
                message = f"unexpected error: {error}"
                return await self._ended(work.job, records, index, StepState.FAILED, message)
            return await self._ended(work.job, records, index, StepState.DONE, None)

    async def _ended(
        self,
        job: Job,
        records: list[StepRecord],
        index: int,
        state: StepState,
        error: str | None,
    ) -> StepRecord:
        """Save the step's end with its audit record, in one transaction."""
        records[index] = records[index].model_copy(
            update={"state": state, "ended_at": self._clock(), "error": error}
        )
        await self._save_steps(job.id, records, audit=[step_audit.ended(job, records[index])])
        return records[index]

    async def _rollback(
        self, job_id: str, steps: Sequence[Step], records: list[StepRecord]
    ) -> bool:
        """Undo the done steps, newest first; false (nothing undone) once a final step has
        started: a removal that failed part-way has destroyed some of what an undo would need
        (an archive's removal, after its partial archive was deleted, would lose data)."""
        done = [i for i, r in enumerate(records) if r.state is StepState.DONE]
        if any(steps[i].final and records[i].attempts > 0 for i in range(len(steps))):
            return False
        job = await self._load(job_id)
        work = Work(job, self._maintenance, lambda out: self._save_outputs(job_id, out))
        work.outputs.update(job.params.get("outputs", {}))
        for i in reversed(done):
            undo = steps[i].undo
            if undo is not None:
                await undo(work)
            records[i] = records[i].model_copy(update={"state": StepState.UNDONE})
            await self._save_steps(job_id, records, audit=[step_audit.ended(job, records[i])])
        return True

    async def _cancel(self, job_id: str, steps: Sequence[Step], records: list[StepRecord]) -> Job:
        await self._rollback(job_id, steps, records)
        async with translated(), self._sessions() as session, session.begin():
            row = await self._held_row(session, job_id)
            await finish_cancelled(session, row, self._clock())
            return repository.view(row)

    async def _fail(
        self, job_id: str, steps: Sequence[Step], records: list[StepRecord], error: str
    ) -> Job:
        rolled_back = await self._rollback(job_id, steps, records)
        async with translated(), self._sessions() as session, session.begin():
            row = await self._held_row(session, job_id)
            now = self._clock()
            row.state, row.error, row.finished_at, row.updated_at = "failed", error, now, now
            row.claimed_by = row.claim_expires_at = None
            tenant = await repository.tenant(session, row.tenant_id)
            if tenant is not None and row.env_id is None:  # an environment's purge: as it was
                # rolled back, the tenant is as it was; else as the job's transition made it
                kind = JobKind(row.kind)
                state = LifecycleState(row.previous_state)
                if not rolled_back:
                    state = of_job(kind).entering or state
                followed = await follow_preempting_suspend(session, row, tenant, state, now)
                if rolled_back and not followed:
                    tenant.lifecycle_state = state.value
                tenant.updated_at = now
            await session.flush()
            await announce(session, row, Change.FAILED)
            return repository.view(row)

    async def _succeed(self, job_id: str) -> Job:
        async with translated(), self._sessions() as session, session.begin():
            row = await self._held_row(session, job_id)
            now = self._clock()
            row.state, row.progress, row.finished_at, row.updated_at = "succeeded", 100, now, now
            row.claimed_by = row.claim_expires_at = None
            final = of_job(JobKind(row.kind), row.env_id).final
            tenant = await repository.tenant(session, row.tenant_id)
            if tenant is not None and final is not None:
                if not await follow_preempting_suspend(session, row, tenant, final, now):
                    tenant.lifecycle_state = final.value
                tenant.updated_at = now
            await session.flush()
            await announce(session, row, Change.SUCCEEDED)
            return repository.view(row)

    async def _announce(self, job_id: str, change: Change) -> None:
        async with translated(), self._sessions() as session, session.begin():
            await announce(session, await self._held_row(session, job_id), change)

    async def _held_row(self, session: Any, job_id: str) -> Any:
        row = await repository.get(session, job_id, lock=True)
        if row is None or row.claimed_by != self.worker:
            raise ClaimLost(f"job {job_id} is no longer claimed by {self.worker}")
        return row

    async def _load(self, job_id: str) -> Job:
        async with translated(), self._sessions() as session:
            row = await repository.get(session, job_id)
        if row is None or row.claimed_by != self.worker:
            raise ClaimLost(f"job {job_id} is no longer claimed by {self.worker}")
        return repository.view(row)

    async def _save_steps(
        self, job_id: str, records: Sequence[StepRecord], *, audit: Sequence[AuditEntry] = ()
    ) -> None:
        done = sum(1 for r in records if r.state is StepState.DONE)
        progress = done * 100 // max(len(records), 1)
        await self._write(
            job_id,
            audit=audit,
            steps=repository.steps_json(records),
            progress=progress,
            state=JobState.RUNNING.value,
            updated_at=self._clock(),
        )

    async def _save_outputs(self, job_id: str, outputs: dict[str, Any]) -> None:
        job = await self._load(job_id)
        await self._write(job_id, params={**job.params, "outputs": outputs})

    async def _write(self, job_id: str, *, audit: Sequence[AuditEntry] = (), **values: Any) -> None:
        async with translated(), self._sessions() as session, session.begin():
            if not await repository.held(session, job_id, self.worker, **values):
                raise ClaimLost(f"job {job_id} is no longer claimed by {self.worker}")
            await audit_log.append(session, audit, now=self._clock())


def _records(job: Job, steps: Sequence[Step]) -> list[StepRecord]:
    """The job's step records, one per recipe step (new ones pending)."""
    known = {r.name: r for r in job.steps}
    return [known.get(s.name) or StepRecord(name=s.name, final=s.final) for s in steps]

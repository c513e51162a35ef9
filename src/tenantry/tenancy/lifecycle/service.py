"""Lifecycle use cases: request a transition as a job, read jobs, cancel and retry them.

A request is one transaction: the tenant's row is locked, the transition table is asked, the
job is inserted (the partial unique index allows one active job per tenant), the tenant enters
the transition's ``entering`` state, and the change is announced. The same transition requested
again returns the job already active; any other is a 409. A suspend preempts a running migrate
or archive: that job is cancelled at its next step boundary, and the suspend follows it.

A delete may be scoped to one environment (``options={"env": ...}``): the purge of an
environment removed from the manifest, scheduled like a tenant's delete but in a slot of its
own, and changing nothing of the tenant's state (``states.SCOPED``). ``request_in`` and
``cancel_delete_in`` take the caller's open transaction (``apply --prune``, the controller).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core import ids
from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import Conflict, NotFound
from tenantry.tenancy.audit import log as audit_log
from tenantry.tenancy.audit.attribution import Attribution
from tenantry.tenancy.deployment import MULTI_TENANT, Deployment
from tenantry.tenancy.lifecycle import repository, retention
from tenantry.tenancy.lifecycle.announce import Change, announce
from tenantry.tenancy.lifecycle.jobs import Job, JobState, StepState
from tenantry.tenancy.lifecycle.models import JobRow
from tenantry.tenancy.lifecycle.states import (
    PREEMPTED_BY_SUSPEND,
    TABLE,
    JobKind,
    LifecycleState,
    transition,
)
from tenantry.tenancy.policy.errors import PolicyViolated
from tenantry.tenancy.policy.facts import Doing
from tenantry.tenancy.policy.schemas import PolicySpec, RetentionSpec
from tenantry.tenancy.policy.service import PolicyService
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import TenantNotFound, translated
from tenantry.tenancy.registry.models import TenantRow

# How long a deleted tenant waits for its purge, given its policy's retention (if any).
Retention = Callable[[TenantRow, RetentionSpec | None], timedelta]
THEN = "then"  # in a preempted job's params: the kind requested after it
ENVIRONMENTS = "environments"  # in every job's params: the tenant's placed environments


class JobNotFound(NotFound):
    code = "job.not_found"


class JobConflict(Conflict):
    code = "job.conflict"


class TenantProtected(Conflict):
    code = "tenant.protected"


@dataclass(frozen=True, slots=True)
class Ask:
    """A requested transition: what, of which tenant, by whom, with which options."""

    kind: JobKind
    tenant_id: str
    actor: str
    correlation_id: str | None
    options: dict[str, Any]
    env_id: str | None = None  # a job scoped to one environment (``options["env"]``)

    @classmethod
    def of(
        cls,
        kind: JobKind,
        tenant_id: str,
        actor: str,
        correlation_id: str | None,
        options: Mapping[str, Any] | None,
    ) -> Ask:
        found = dict(options or {})
        env = found.get("env")
        env_id = None if env is None else ids.env_id(env)
        return cls(kind, ids.tenant_id(tenant_id), actor, correlation_id, found, env_id)


def _default_retention(row: TenantRow, policy: RetentionSpec | None) -> timedelta:
    return retention.purge_after_of_spec(row.spec, policy)


class LifecycleService:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        clock: Clock = utc_now,
        retention: Retention = _default_retention,
        wake: Callable[[], None] | None = None,
        deployment: Deployment = MULTI_TENANT,
        policies: PolicyService | None = None,
    ) -> None:
        self._sessions, self._clock, self._retention = sessions, clock, retention
        self._wake = wake or (lambda: None)
        self._deployment = deployment
        self._policies = policies or PolicyService(sessions, clock=clock)

    async def request(
        self,
        kind: JobKind,
        tenant_id: str,
        *,
        actor: str,
        correlation_id: str | None = None,
        options: Mapping[str, Any] | None = None,
        audit: Attribution | None = None,
    ) -> Job:
        """Start ``kind`` for the tenant (or return its job already doing so); ``audit``'s
        record commits with the job."""
        ask = Ask.of(kind, tenant_id, actor, correlation_id, options)
        try:
            async with translated(), self._sessions() as session, session.begin():
                job = repository.view(await self._request(session, ask))
                await self._audited(session, audit, job)
        except IntegrityError:  # a concurrent request inserted the tenant's job first
            return await self._settled_race(kind, tenant_id, ask.env_id)
        except PolicyViolated as error:  # rolled back: the refusal is recorded on its own
            await self._policies.refused(error, actor=actor, correlation_id=correlation_id)
            raise
        self._wake()
        return job

    async def request_in(
        self,
        session: AsyncSession,
        kind: JobKind,
        tenant_id: str,
        *,
        actor: str,
        correlation_id: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Job:
        """:meth:`request` in the caller's open transaction (committed, or not, with it)."""
        ask = Ask.of(kind, tenant_id, actor, correlation_id, options)
        job = repository.view(await self._request(session, ask))
        self._wake()
        return job

    async def _request(self, session: AsyncSession, ask: Ask) -> JobRow:
        kind, tenant_id, options = ask.kind, ask.tenant_id, ask.options
        self._deployment.check_managed([tenant_id])
        tenant = await repository.tenant(session, tenant_id)
        if tenant is None:
            raise TenantNotFound(tenant_id)
        active = await repository.active_for(session, tenant_id, ask.env_id)
        if active is not None:
            return await self._with_active(session, tenant, active, kind)
        state = LifecycleState(tenant.lifecycle_state)
        found = transition(kind, tenant_id, state, ask.env_id)
        now = self._clock()
        if kind is JobKind.DELETE and ask.env_id is None:
            _check_protected(tenant, force=bool(options.get("force")))
        policy = await self._gate(session, tenant, ask)
        row = _new_job(ask, state, now)
        row.params = {**row.params, ENVIRONMENTS: sorted(tenant.placement or {})}
        if kind is JobKind.DELETE:
            kept = self._retention(tenant, policy.retention if policy else None)
            _schedule(row, tenant, now=now, at=now if options.get("now") else now + kept)
        if found.entering is not None:
            tenant.lifecycle_state = found.entering.value
        if ask.env_id is None:
            tenant.updated_at = now
        session.add(row)
        await session.flush()
        await announce(session, row, Change.REQUESTED)
        return row

    async def _gate(self, session: AsyncSession, tenant: TenantRow, ask: Ask) -> PolicySpec | None:
        """The tenant's policy, once it allows ``ask`` (:class:`PolicyViolated` if not). An
        environment's purge follows an apply already checked: it is not a transition."""
        doing = Doing(
            ask.kind, purge_now=bool(ask.options.get("now")), scoped=ask.env_id is not None
        )
        return await self._policies.gate_transition(session, tenant, doing)

    async def _with_active(
        self, session: AsyncSession, tenant: TenantRow, active: JobRow, kind: JobKind
    ) -> JobRow:
        """The active job when it does ``kind`` already; a suspend preempts what it may."""
        if active.kind == kind.value:
            return active
        if kind is JobKind.SUSPEND and JobKind(active.kind) in PREEMPTED_BY_SUSPEND:
            if active.params.get(THEN) != JobKind.SUSPEND.value:
                active.cancel_requested = True
                active.params = {**active.params, THEN: JobKind.SUSPEND.value}
                tenant.lifecycle_state = LifecycleState.SUSPENDED.value
                tenant.updated_at = active.updated_at = self._clock()
                await announce(session, active, Change.REQUESTED)
            return active
        raise JobConflict(
            f"tenant {tenant.id!r} has a {active.kind} job running ({active.id}): wait for it,"
            f" or cancel it with `tenantry jobs cancel {active.id}`",
            details={"tenant_id": tenant.id, "job_id": active.id, "kind": active.kind},
        )

    async def _settled_race(self, kind: JobKind, tenant_id: str, env_id: str | None) -> Job:
        async with translated(), self._sessions() as session:
            active = await repository.active_for(session, tenant_id, env_id)
        if active is not None and active.kind == kind.value:
            return repository.view(active)
        raise JobConflict(
            f"tenant {tenant_id!r} got another job at the same time; look at `tenantry jobs"
            f" list --tenant {tenant_id}`",
            details={"tenant_id": tenant_id},
        )

    async def get(self, job_id: str) -> Job:
        async with translated(), self._sessions() as session:
            row = await repository.get(session, _job_id(job_id))
        if row is None:
            raise JobNotFound(f"job {job_id!r} not found", details={"job_id": job_id})
        return repository.view(row)

    async def list(
        self,
        *,
        tenant_id: str | None = None,
        state: JobState | None = None,
        limit: int = 100,
    ) -> list[Job]:
        if tenant_id is not None:
            ids.tenant_id(tenant_id)
        async with translated(), self._sessions() as session:
            rows = await repository.listed(session, tenant_id=tenant_id, state=state, limit=limit)
        return [repository.view(r) for r in rows]

    async def cancel(self, job_id: str, *, audit: Attribution | None = None) -> Job:
        """Cancel a job: at once when no worker runs it, else at its next step boundary."""
        async with translated(), self._sessions() as session, session.begin():
            job = await self._cancel(session, await self._locked(session, job_id))
            await self._audited(session, audit, job)
        self._wake()
        return job

    async def cancel_delete_in(
        self, session: AsyncSession, tenant_id: str, env_id: str | None = None
    ) -> Job | None:
        """Cancel the tenant's active delete (or ``env_id``'s purge) in the caller's open
        transaction; None when there is none. Past the purge's first step it is a 409."""
        row = await repository.active_for(session, tenant_id, env_id, lock=True)
        if row is None or row.kind != JobKind.DELETE.value:
            return None
        job = await self._cancel(session, row)
        self._wake()
        return job

    async def _cancel(self, session: AsyncSession, row: JobRow) -> Job:
        if not JobState(row.state).active:
            raise JobConflict(
                f"job {row.id} is {row.state}: only a queued, scheduled or running job can"
                " be cancelled",
                details={"job_id": row.id, "state": row.state},
            )
        if any(s.get("final") and s["state"] == StepState.DONE for s in row.steps):
            raise JobConflict(
                f"job {row.id} is past its point of no return; it can no longer be cancelled",
                details={"job_id": row.id},
            )
        if row.claimed_by is None or row.state != JobState.RUNNING.value:
            await finish_cancelled(session, row, self._clock())
        else:
            row.cancel_requested, row.updated_at = True, self._clock()
        return repository.view(row)

    async def retry(self, job_id: str, *, audit: Attribution | None = None) -> Job:
        """Queue a failed job again; it resumes at the step that failed, once the tenant's
        policy still allows the transition (it may have changed since the request)."""
        actor, correlation_id = (audit.actor, audit.correlation_id) if audit else ("system", None)
        async with (
            self._policies.refusals(actor=actor, correlation_id=correlation_id),
            translated(),
            self._sessions() as session,
            session.begin(),
        ):
            row = await self._locked(session, job_id)
            if row.state != JobState.FAILED.value:
                raise JobConflict(
                    f"job {row.id} is {row.state}: only a failed job can be retried",
                    details={"job_id": row.id, "state": row.state},
                )
            tenant = await repository.tenant(session, row.tenant_id)
            if tenant is None:
                raise TenantNotFound(row.tenant_id)
            again = Ask.of(JobKind(row.kind), row.tenant_id, actor, row.correlation_id, row.params)
            await self._gate(session, tenant, again)
            found = transition(
                JobKind(row.kind), row.tenant_id, LifecycleState(row.previous_state), row.env_id
            )
            row.state, row.error, row.updated_at = JobState.QUEUED.value, None, self._clock()
            row.finished_at = row.claimed_by = row.claim_expires_at = None
            row.steps = [_pending_again(s) for s in row.steps]
            if found.entering is not None:
                tenant.lifecycle_state = found.entering.value
            await session.flush()
            await announce(session, row, Change.REQUESTED)
            job = repository.view(row)
            await self._audited(session, audit, job)
        self._wake()
        return job

    async def _audited(self, session: AsyncSession, audit: Attribution | None, job: Job) -> None:
        """Append ``audit``'s record of a change to ``job`` in the change's transaction."""
        if audit is not None:
            details = {"job_id": job.id, "kind": job.kind.value}
            entry = audit.entry(job.tenant_id, env_id=job.env_id, details=details)
            await audit_log.append(session, [entry], now=self._clock())

    async def _locked(self, session: AsyncSession, job_id: str) -> JobRow:
        row = await repository.get(session, _job_id(job_id), lock=True)
        if row is None:
            raise JobNotFound(f"job {job_id!r} not found", details={"job_id": job_id})
        return row


async def finish_cancelled(session: AsyncSession, row: JobRow, now: datetime) -> None:
    """Mark ``row`` cancelled and give its tenant back the state it had; a suspend that
    preempted it is queued in the same transaction."""
    row.state, row.finished_at, row.updated_at = JobState.CANCELLED.value, now, now
    row.claimed_by = row.claim_expires_at = None
    tenant = await repository.tenant(session, row.tenant_id)
    await session.flush()
    await announce(session, row, Change.CANCELLED)
    if tenant is None or row.env_id is not None:  # an environment's purge left it as it was
        return
    tenant.updated_at = now
    if row.kind == JobKind.DELETE.value:
        tenant.deletion_requested_at = None
    previous = LifecycleState(row.previous_state)
    if not await follow_preempting_suspend(session, row, tenant, previous, now):
        tenant.lifecycle_state = previous.value


async def follow_preempting_suspend(
    session: AsyncSession,
    row: JobRow,
    tenant: TenantRow,
    state: LifecycleState,
    now: datetime,
) -> bool:
    """Queue the suspend that preempted ``row``, now that it ended with its tenant in
    ``state``, and keep the tenant suspended; False when none did (or ``state`` needs none)."""
    if row.params.get(THEN) != JobKind.SUSPEND.value:
        return False
    if state not in TABLE[JobKind.SUSPEND].allowed_from:
        return False  # e.g. an archive that finished: the tenant is frozen already
    ask = Ask(JobKind.SUSPEND, row.tenant_id, row.requested_by, row.correlation_id, {})
    follow = _new_job(ask, state, now)
    follow.params = {ENVIRONMENTS: sorted(tenant.placement or {})}
    tenant.lifecycle_state = LifecycleState.SUSPENDED.value
    session.add(follow)
    await session.flush()
    await announce(session, follow, Change.REQUESTED)
    return True


def _schedule(row: JobRow, tenant: TenantRow, *, now: datetime, at: datetime) -> None:
    """A delete waits until ``at``: the retention period, or now (``--now``)."""
    row.state, row.not_before = JobState.SCHEDULED.value, at
    if row.env_id is None:
        tenant.deletion_requested_at = now


def _new_job(ask: Ask, state: LifecycleState, now: datetime) -> JobRow:
    return JobRow(
        id=uuid.uuid4().hex,
        tenant_id=ask.tenant_id,
        env_id=ask.env_id,
        kind=ask.kind.value,
        state=JobState.QUEUED.value,
        steps=[],
        progress=0,
        params=ask.options,
        previous_state=state.value,
        requested_by=ask.actor,
        correlation_id=ask.correlation_id,
        cancel_requested=False,
        created_at=now,
        updated_at=now,
    )


def _check_protected(tenant: TenantRow, *, force: bool) -> None:
    if tenant.spec.get("prevent_deletion") and not force:
        raise TenantProtected(
            f"tenant {tenant.id!r} has prevent_deletion: true; delete it with --force"
            " (?force=true) if you mean it",
            details={"tenant_id": tenant.id},
        )


def _pending_again(step: dict[str, Any]) -> dict[str, Any]:
    if step["state"] in {StepState.FAILED, StepState.UNDONE, StepState.RUNNING}:
        return {**step, "state": StepState.PENDING.value, "error": step.get("error")}
    return step


def _job_id(job_id: str) -> str:
    if len(job_id) != 32 or any(c not in "0123456789abcdef" for c in job_id):
        raise JobNotFound(f"job {job_id!r} not found", details={"job_id": job_id})
    return job_id

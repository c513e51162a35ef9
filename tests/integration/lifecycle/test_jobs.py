"""Lifecycle jobs on both control databases: requests, the transition table, one active job per
tenant, claims, cancel and retry (the transitions' own effects are tested with each kind)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from tenantry.bootstrap import Services
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.tenancy.controller.conditions import Result
from tenantry.tenancy.lifecycle.jobs import JobState, StepState
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.lifecycle.steps import Step, Work
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Bundle, Environment
from tenantry.tenancy.registry.models import TenantRow
from tests.conftest import EXAMPLE_BUNDLE


async def _active(wired: Services, tenant: str = "acme") -> None:
    await wired.registry.apply(loader.load([EXAMPLE_BUNDLE]))
    await wired.controller.reconcile(tenant)


async def _state(wired: Services, tenant: str = "acme") -> LifecycleState:
    return (await wired.registry.get(tenant)).lifecycle_state


async def test_suspend_then_resume(wired: Services) -> None:
    await _active(wired)
    job = await wired.lifecycle.request(JobKind.SUSPEND, "acme", actor="test")
    assert (job.state, await _state(wired)) == (JobState.QUEUED, LifecycleState.SUSPENDED)
    done = await wired.jobs.run(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED and done.progress == 100
    resumed = await wired.lifecycle.request(JobKind.RESUME, "acme", actor="test")
    assert await _state(wired) is LifecycleState.SUSPENDED  # until the job has run
    finished = await wired.jobs.run(resumed.id)
    assert finished is not None and [s.state for s in finished.steps] == [StepState.DONE]
    assert await _state(wired) is LifecycleState.ACTIVE


async def test_the_same_request_twice_is_one_job_and_another_is_a_conflict(
    wired: Services,
) -> None:
    await _active(wired)
    first, second = await asyncio.gather(
        wired.lifecycle.request(JobKind.SUSPEND, "acme", actor="a"),
        wired.lifecycle.request(JobKind.SUSPEND, "acme", actor="b"),
    )
    assert first.id == second.id
    with pytest.raises(TenantryError) as conflict:
        await wired.lifecycle.request(JobKind.ARCHIVE, "acme", actor="a")
    assert (conflict.value.kind, conflict.value.code) == (ErrorKind.CONFLICT, "job.conflict")
    assert len(await wired.lifecycle.list(tenant_id="acme")) == 1


async def test_a_transition_the_table_refuses_names_the_state_and_the_allowed_ones(
    wired: Services,
) -> None:
    await _active(wired)
    with pytest.raises(TenantryError) as refused:
        await wired.lifecycle.request(JobKind.RESUME, "acme", actor="test")
    assert refused.value.code == "lifecycle.transition_refused"
    assert "active" in refused.value.message and "suspended" in refused.value.message
    assert await wired.lifecycle.list(tenant_id="acme") == []
    with pytest.raises(TenantryError) as unknown:
        await wired.lifecycle.request(JobKind.SUSPEND, "nobody", actor="test")
    assert unknown.value.kind is ErrorKind.NOT_FOUND


async def test_cancelling_a_queued_job_gives_the_tenant_its_state_back(wired: Services) -> None:
    await _active(wired)
    job = await wired.lifecycle.request(JobKind.SUSPEND, "acme", actor="test")
    cancelled = await wired.lifecycle.cancel(job.id)
    assert cancelled.state is JobState.CANCELLED
    assert await _state(wired) is LifecycleState.ACTIVE
    assert await wired.jobs.run(job.id) is None  # nothing left to run


async def test_two_workers_never_run_one_job_twice(wired: Services) -> None:
    await _active(wired)
    runs: list[str] = []

    async def slow(work: Work) -> None:
        runs.append(work.job.id)
        await asyncio.sleep(0.2)

    recipes = {JobKind.SUSPEND: lambda job: [Step("slow", slow)]}
    workers = [wired.jobs.variant(recipes, worker=f"w{i}") for i in range(4)]
    job = await wired.lifecycle.request(JobKind.SUSPEND, "acme", actor="test")
    ended = await asyncio.gather(*(w.run(job.id) for w in workers))
    assert runs == [job.id]
    assert [e.state for e in ended if e is not None] == [JobState.SUCCEEDED]


async def test_a_failed_step_rolls_back_and_retry_resumes_it(wired: Services) -> None:
    await _active(wired)
    calls: list[str] = []

    async def first(work: Work) -> None:
        calls.append("first")

    async def undo_first(work: Work) -> None:
        calls.append("undo-first")

    async def second(work: Work) -> None:
        calls.append("second")
        if calls.count("second") == 1:
            raise TenantryError("the step broke")

    recipes = {JobKind.SUSPEND: lambda job: [Step("a", first, undo_first), Step("b", second)]}
    runner = wired.jobs.variant(recipes)
    job = await wired.lifecycle.request(JobKind.SUSPEND, "acme", actor="test")
    failed = await runner.run(job.id)
    assert failed is not None and failed.state is JobState.FAILED
    assert failed.step("b").error == "the step broke"
    assert await _state(wired) is LifecycleState.ACTIVE  # serving in its last good state
    retried = await wired.lifecycle.retry(job.id)
    assert retried.state is JobState.QUEUED and await _state(wired) is LifecycleState.SUSPENDED
    done = await runner.run(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED
    assert calls == ["first", "second", "undo-first", "first", "second"]


async def test_apply_on_an_archived_tenant_stores_its_spec_and_provisions_nothing(
    wired: Services,
) -> None:
    await _active(wired)
    async with wired.engine.begin() as db:
        archived = update(TenantRow).where(TenantRow.id == "acme")
        await db.execute(archived.values(lifecycle_state=LifecycleState.ARCHIVED.value))
    before = await wired.registry.get("acme")
    bundle = loader.load([EXAMPLE_BUNDLE])
    acme = bundle.tenants["acme"]
    grown = acme.model_copy(update={"environments": [*acme.environments, Environment(id="qa")]})
    await wired.registry.apply(Bundle(tenants={**bundle.tenants, "acme": grown}))
    assert "acme" not in await wired.controller.due()
    outcome = await wired.controller.reconcile("acme")
    assert outcome.result is Result.SKIPPED
    after = await wired.registry.get("acme")
    assert after.generation == before.generation + 1 and "qa" in after.environments
    assert after.placement == before.placement and after.resources == before.resources
    assert after.lifecycle_state is LifecycleState.ARCHIVED


async def test_a_suspend_that_arrives_during_a_migrates_last_step_follows_it(
    wired: Services,
) -> None:
    await _active(wired)

    async def last(work: Work) -> None:  # past the job's last cancel check
        preempting = await wired.lifecycle.request(JobKind.SUSPEND, "acme", actor="test")
        assert preempting.id == work.job.id  # answered with the job it preempts

    recipes = {**wired.jobs.recipes, JobKind.MIGRATE: lambda job: [Step("last", last)]}
    runner = wired.jobs.variant(recipes)
    job = await wired.lifecycle.request(JobKind.MIGRATE, "acme", actor="test")
    done = await runner.run(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED
    assert await _state(wired) is LifecycleState.SUSPENDED
    [follow] = [j for j in await wired.lifecycle.list(tenant_id="acme") if j.id != job.id]
    assert (follow.kind, follow.state) == (JobKind.SUSPEND, JobState.QUEUED)
    suspended = await runner.run(follow.id)
    assert suspended is not None and suspended.state is JobState.SUCCEEDED
    assert await _state(wired) is LifecycleState.SUSPENDED

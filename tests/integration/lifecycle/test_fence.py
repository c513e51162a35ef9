"""The suspend's fence on both control databases, with two sets of services on one control
database standing for two processes: a request in flight in one holds back the suspend job run
by the other until it ends; a process that does not drain fails the step, naming it; a dead
process is not waited for; a long-lived connection is closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from tenantry.bootstrap import Services, services
from tenantry.core.clock import utc_now
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.fence import repository
from tenantry.tenancy.lifecycle.fence.drain import Fences
from tenantry.tenancy.lifecycle.fence.inflight import ConnectionClosed
from tenantry.tenancy.lifecycle.fence.models import FenceProcessRow
from tenantry.tenancy.lifecycle.fence.watch import FenceWatch
from tenantry.tenancy.lifecycle.jobs import Job, JobState, StepState
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.registry import database
from tests.conftest import EXAMPLE_BUNDLE

FAST = {
    "fence_poll_seconds": 0.05,
    "fence_heartbeat_seconds": 0.2,
    "fence_stale_seconds": 3.0,
    "fence_drain_seconds": 10.0,
}


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(update=FAST)


@pytest.fixture
async def first(fast: Settings) -> AsyncIterator[Services]:
    async with services(fast) as built:
        await built.registry.apply(loader.load([EXAMPLE_BUNDLE]))
        await built.controller.reconcile("acme")
        yield built


@pytest.fixture
async def second(fast: Settings, first: Services) -> AsyncIterator[Services]:
    async with services(fast) as built:
        yield built


async def _until(check: Callable[[], Awaitable[bool]], *, limit: float = 10.0) -> None:
    """Wait (bounded) until ``check()`` is true."""
    deadline = asyncio.get_running_loop().time() + limit
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition never came true"
        await asyncio.sleep(0.02)


async def _suspend(wired: Services) -> tuple[Job, asyncio.Task[Job | None]]:
    job = await wired.lifecycle.request(JobKind.SUSPEND, "acme", actor="test")
    return job, asyncio.create_task(wired.jobs.run(job.id))


async def test_a_request_in_flight_in_another_process_holds_the_suspend_back(
    first: Services, second: Services
) -> None:
    hold = await second.fence.admit("acme")  # a request of acme's, in the second process
    job, running = await _suspend(first)
    await _until(lambda: _laggards_are(first, job, [second.fence.process_id]))
    assert not running.done()
    assert (await first.lifecycle.get(job.id)).state is JobState.RUNNING
    hold.release()
    done = await asyncio.wait_for(running, timeout=10)
    assert done is not None and done.state is JobState.SUCCEEDED
    assert [s.name for s in done.steps] == ["fence", "drain"]
    assert (await first.registry.get("acme")).lifecycle_state is LifecycleState.SUSPENDED


async def test_resume_then_suspend_again_raises_a_new_fence(
    first: Services, second: Services
) -> None:
    _, running = await _suspend(first)
    assert (await asyncio.wait_for(running, timeout=10)) is not None
    resumed = await first.lifecycle.request(JobKind.RESUME, "acme", actor="test")
    assert (await first.jobs.run(resumed.id)) is not None
    assert (await first.registry.get("acme")).lifecycle_state is LifecycleState.ACTIVE
    hold = await second.fence.admit("acme")
    job, running = await _suspend(first)
    await _until(lambda: _laggards_are(first, job, [second.fence.process_id]))
    assert (await first.lifecycle.get(job.id)).params["outputs"]["fence"] == 2
    hold.release()
    done = await asyncio.wait_for(running, timeout=10)
    assert done is not None and done.state is JobState.SUCCEEDED


async def test_a_process_that_does_not_drain_fails_the_step_naming_it(
    fast: Settings, first: Services
) -> None:
    bounded = fast.model_copy(update={"fence_drain_seconds": 0.2})
    async with services(bounded) as runner, services(fast) as stuck:
        hold = await stuck.fence.admit("acme")
        job = await runner.lifecycle.request(JobKind.SUSPEND, "acme", actor="test")
        failed = await asyncio.wait_for(runner.jobs.run(job.id), timeout=30)
        assert failed is not None and failed.state is JobState.FAILED
        drain = failed.step("drain")
        assert drain.state is StepState.FAILED and drain.attempts == 3
        assert stuck.fence.process_id in (failed.error or "")
        assert "did not drain" in (failed.error or "")
        # raising the fence was the point of no return: the tenant stays suspended
        assert (await runner.registry.get("acme")).lifecycle_state is LifecycleState.SUSPENDED
        hold.release()
        retried = await runner.lifecycle.retry(job.id)
        done = await asyncio.wait_for(runner.jobs.run(retried.id), timeout=10)
        assert done is not None and done.state is JobState.SUCCEEDED


async def test_a_dead_process_is_not_waited_for_and_a_clean_exit_leaves_no_row(
    fast: Settings, first: Services
) -> None:
    sessions = database.session_factory(first.engine)
    async with sessions() as session, session.begin():
        long_ago = utc_now() - timedelta(seconds=FAST["fence_stale_seconds"] * 2)
        await repository.beat(session, "dead-host:1:00000000", long_ago)
    async with services(fast) as gone:
        departed = gone.fence.process_id
    job, running = await _suspend(first)
    done = await asyncio.wait_for(running, timeout=10)
    assert done is not None and done.state is JobState.SUCCEEDED, job
    async with sessions() as session:
        rows = set((await session.scalars(select(FenceProcessRow.id))).all())
    assert first.fence.process_id in rows and departed not in rows


async def test_a_long_lived_connection_is_closed_by_the_suspend(
    first: Services, second: Services
) -> None:
    opened = asyncio.Event()

    async def stream() -> str:
        async with second.fence.inflight.long_lived("acme") as closing:
            opened.set()
            try:
                await closing.race(asyncio.sleep(3600))
            except ConnectionClosed:
                return "closed"
        return "timed out"

    streaming = asyncio.create_task(stream())
    await opened.wait()
    _, running = await _suspend(first)
    done = await asyncio.wait_for(running, timeout=10)
    assert done is not None and done.state is JobState.SUCCEEDED
    assert await streaming == "closed"


async def test_a_process_that_cannot_beat_admits_no_tenant_request(
    first: Services, tmp_path: Path
) -> None:
    unreachable = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'db'}")
    silent = FenceWatch(database.session_factory(unreachable))  # never beat, and cannot
    try:
        with pytest.raises(TenantryError) as refused:
            await silent.admit("acme")
    finally:
        await unreachable.dispose()
    assert (refused.value.kind, refused.value.code) == (
        ErrorKind.UNAVAILABLE,
        "process.fence_lapsed",
    )
    assert silent.inflight.count("acme") == 0
    assert first.fence.live
    (await first.fence.admit("acme")).release()


async def test_a_lapsed_process_that_can_beat_again_admits_and_drains_what_it_missed(
    first: Services,
) -> None:
    lapsed = FenceWatch(database.session_factory(first.engine))  # its loop never ran
    assert not lapsed.live
    hold = await lapsed.admit("acme")  # one beat and one look, then the hold
    assert lapsed.live and lapsed.inflight.count("acme") == 1
    hold.release()
    sessions = database.session_factory(first.engine)
    async with sessions() as session:
        rows = set((await session.scalars(select(FenceProcessRow.id))).all())
    assert lapsed.process_id in rows


async def _laggards_are(wired: Services, job: Job, expected: list[str]) -> bool:
    current = await wired.lifecycle.get(job.id)
    seq = current.params.get("outputs", {}).get("fence")
    if seq is None or current.step("drain").state is not StepState.RUNNING:
        return False
    fences = Fences(database.session_factory(wired.engine), wired.fence.timing)
    return bool(await fences.laggards("acme", int(seq)) == expected)

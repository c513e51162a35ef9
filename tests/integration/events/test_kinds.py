"""The events of failures, migrations and quota refusals, on both stacks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tenantry.bootstrap import Services
from tenantry.core.errors import TenantryError
from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.events.schemas import EventType
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.lifecycle.steps import Step, Work
from tenantry.tenancy.limits.catalog import LimitsCatalog
from tenantry.tenancy.limits.errors import QuotaExceeded
from tenantry.tenancy.limits.quotas import Quotas
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, TenantSpec
from tenantry.tenancy.registry.database import session_factory
from tests.integration.events.conftest import bundle
from tests.quotas import STORAGE

E = EventType


async def _types(wired: Services, tenant: str) -> list[str]:
    async with session_factory(wired.engine)() as session:
        query = select(OutboxRow).where(OutboxRow.tenant_id == tenant).order_by(OutboxRow.id)
        return [row.type for row in (await session.scalars(query)).all()]


async def _broken(work: Work) -> None:
    raise TenantryError("the step broke")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (JobKind.SUSPEND, [E.JOB_FAILED]),
        (JobKind.MIGRATE, [E.MIGRATION_STARTED, E.MIGRATION_FAILED, E.JOB_FAILED]),
    ],
)
async def test_a_failed_job_announces_its_failure(
    stack: Services, kind: JobKind, expected: list[EventType]
) -> None:
    await stack.registry.apply(bundle("acme"))
    await stack.controller.reconcile("acme")
    runner = stack.jobs.variant({kind: lambda job: [Step("broken", _broken)]})
    job = await stack.lifecycle.request(kind, "acme", actor="test", correlation_id="c-1")
    failed = await runner.run(job.id)
    assert failed is not None and failed.state is JobState.FAILED
    assert (await _types(stack, "acme"))[2:] == expected


async def test_a_completed_migration_announces_start_and_completion(stack: Services) -> None:
    await stack.registry.apply(bundle("acme"))
    await stack.controller.reconcile("acme")

    async def done(work: Work) -> None:
        return None

    runner = stack.jobs.variant({JobKind.MIGRATE: lambda job: [Step("done", done)]})
    job = await stack.lifecycle.request(JobKind.MIGRATE, "acme", actor="test")
    await runner.run(job.id)
    assert (await _types(stack, "acme"))[2:] == [E.MIGRATION_STARTED, E.MIGRATION_COMPLETED]


async def test_a_flood_of_quota_refusals_is_one_event_per_tenant_resource_and_window(
    stack: Services,
) -> None:
    limited = TenantSpec(name="x", limits=LimitsSpec(storage=STORAGE))
    await stack.registry.apply(Bundle(tenants={"acme": limited, "globex": limited}))
    sessions = session_factory(stack.engine)
    now = [datetime(2026, 12, 6, 10, 0, tzinfo=UTC)]

    def quotas() -> Quotas:  # a process of its own: its memory of marks starts empty
        return Quotas(sessions, LimitsCatalog(sessions), clock=lambda: now[0], events_window=3600)

    first, second = quotas(), quotas()
    for tenant in ("acme", "globex"):
        for _ in range(3):
            await first.take(tenant, "state", 10)

    async def refused(quota: Quotas, tenant: str = "acme", resource: str = "state") -> None:
        with pytest.raises(QuotaExceeded):
            await quota.take(tenant, resource, 10)

    await asyncio.gather(*(refused(q) for q in (first, second) for _ in range(10)))
    assert (await _types(stack, "acme")).count(E.QUOTA_EXCEEDED) == 1
    now[0] += timedelta(minutes=59)
    await refused(second)
    assert (await _types(stack, "acme")).count(E.QUOTA_EXCEEDED) == 1
    now[0] += timedelta(minutes=1)  # the next window
    await refused(first)
    await refused(first, "globex")
    assert (await _types(stack, "acme")).count(E.QUOTA_EXCEEDED) == 2
    assert (await _types(stack, "globex")).count(E.QUOTA_EXCEEDED) == 1


async def test_a_changed_spec_is_updated_and_archive_then_restore_are_announced(
    stack: Services,
) -> None:
    tenant = f"arch-{uuid.uuid4().hex[:8]}"  # archiving drops its roles: cluster-wide names
    await stack.registry.apply(bundle(tenant))
    await stack.controller.reconcile(tenant)
    renamed = Bundle(tenants={tenant: TenantSpec(name="Renamed")})
    await stack.registry.apply(renamed)
    await stack.registry.apply(renamed)  # unchanged: nothing announced
    for kind in (JobKind.ARCHIVE, JobKind.RESTORE):
        job = await stack.lifecycle.request(kind, tenant, actor="test")
        done = await stack.jobs.run(job.id)
        assert done is not None and done.state is JobState.SUCCEEDED, done
    assert await _types(stack, tenant) == [
        E.TENANT_CREATED,
        E.TENANT_PROVISIONED,
        E.TENANT_UPDATED,
        E.TENANT_ARCHIVED,
        E.TENANT_RESTORED,
    ]
    async with session_factory(stack.engine)() as session:
        query = select(OutboxRow.event).where(OutboxRow.type == E.TENANT_UPDATED)
        updated = (await session.scalars(query)).one()
    assert updated["data"]["generation"] == 2 and updated["data"]["changed"] == ["name"]

"""Policies refuse what they forbid, at apply and at every transition, on SQLite and PostgreSQL:
a 409 ``policy.violated`` naming the check and the reason, an audit record of the refusal and a
``policy.violated`` event, both kept although the change rolled back; nothing else changes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tenantry.bootstrap import Services, services
from tenantry.core.clock import utc_now
from tenantry.core.errors import ErrorKind
from tenantry.core.settings import Settings
from tenantry.tenancy.access.models import AuditRecordRow
from tenantry.tenancy.audit.attribution import Attribution
from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.events.schemas import EventType
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.models import JobRow
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.manifests.schemas import Bundle, TenantSpec
from tenantry.tenancy.policy.errors import PolicyUnknown, PolicyViolated
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.models import TenantRow

# Every backend in one region: the embedded default's files and, on PostgreSQL, the server.
EU_WEST = {"embedded_region": "eu-west", "postgres_region": "eu-west"}
US_EAST = {"embedded_region": "us-east", "postgres_region": "us-east"}
POLICIES = {
    "eu-only": {"residency": {"regions": ["eu-west"]}},
    "fresh-keys": {"encryption": {"max_key_age": "30d"}},
    "keep": {"retention": {"purge_after": "30d", "archive": "90d"}},
}
PLANS = {
    "starter": {"rate": 10, "allows": {"profiles": ["mt-standard"], "transitions": ["resume"]}}
}


def bundle(tenants: dict[str, dict[str, Any]], **extra: Any) -> Bundle:
    return Bundle.model_validate(
        {"tenants": tenants, "policies": POLICIES, "plans": PLANS, **extra}
    )


@asynccontextmanager
async def wired_with(
    settings: Settings, clock: Callable[[], datetime] = utc_now, **update_: Any
) -> AsyncIterator[Services]:
    async with services(settings.model_copy(update=update_), clock=clock) as built:
        yield built


async def refusals(wired: Services, tenant: str) -> tuple[list[AuditRecordRow], list[OutboxRow]]:
    factory = database.session_factory(wired.engine)
    async with factory() as session:
        audit = (
            await session.scalars(
                select(AuditRecordRow).where(
                    AuditRecordRow.action == "policy.violated", AuditRecordRow.tenant_id == tenant
                )
            )
        ).all()
        events = (
            await session.scalars(
                select(OutboxRow).where(
                    OutboxRow.type == EventType.POLICY_VIOLATED.value, OutboxRow.tenant_id == tenant
                )
            )
        ).all()
    return list(audit), list(events)


async def assert_refused(
    wired: Services, caught: pytest.ExceptionInfo[PolicyViolated], tenant: str, check: str
) -> None:
    error = caught.value
    assert error.kind is ErrorKind.CONFLICT and error.code == "policy.violated"
    assert error.details["tenant_id"] == tenant
    assert check in {v["check"] for v in error.details["violations"]}
    audit, events = await refusals(wired, tenant)
    assert [r.outcome for r in audit] == ["denied"]
    assert audit[0].details["violations"] == error.details["violations"]
    [event] = events
    assert event.event["subject"] == tenant and event.event["data"]["check"] == check


async def count_tenants(wired: Services) -> int:
    async with database.session_factory(wired.engine)() as session:
        return int((await session.scalar(select(func.count()).select_from(TenantRow))) or 0)


async def set_state(wired: Services, tenant: str, state: str) -> None:
    async with database.session_factory(wired.engine)() as session, session.begin():
        await session.execute(
            update(TenantRow).where(TenantRow.id == tenant).values(lifecycle_state=state)
        )


# Residency


async def test_residency_refuses_an_apply_into_a_region_the_policy_does_not_allow(
    settings: Settings,
) -> None:
    async with wired_with(settings, **US_EAST) as wired:
        with pytest.raises(PolicyViolated) as caught:
            await wired.registry.apply(
                bundle({"acme": {"name": "Acme", "policy": "eu-only"}, "beta": {"name": "Beta"}})
            )
        assert "region 'us-east'; allowed: eu-west" in caught.value.message
        await assert_refused(wired, caught, "acme", "residency")
        assert await count_tenants(wired) == 0  # the whole apply was refused
        assert await wired.policies.list() == []


async def test_residency_refuses_a_backend_that_declares_no_region(settings: Settings) -> None:
    async with wired_with(settings) as wired:
        with pytest.raises(PolicyViolated) as caught:
            await wired.registry.apply(bundle({"acme": {"name": "Acme", "policy": "eu-only"}}))
        assert "TENANTRY_EMBEDDED_REGION" in caught.value.message


async def test_residency_refuses_a_transition(settings: Settings) -> None:
    async with wired_with(settings, **EU_WEST) as wired:
        await wired.registry.apply(bundle({"acme": {"name": "Acme", "policy": "eu-only"}}))
        await set_state(wired, "acme", "suspended")
    async with wired_with(settings, **US_EAST) as moved:  # the data moved
        with pytest.raises(PolicyViolated) as caught:
            await moved.lifecycle.request(JobKind.RESUME, "acme", actor="ops")
        await assert_refused(moved, caught, "acme", "residency")
        assert (await moved.registry.get("acme")).lifecycle_state == "suspended"
        assert await moved.lifecycle.list(tenant_id="acme") == []
        # Taking it out of service is never refused by residency.
        await moved.lifecycle.request(JobKind.DELETE, "acme", actor="ops")


async def test_residency_refuses_retrying_a_failed_transition(settings: Settings) -> None:
    async with wired_with(settings, **EU_WEST) as wired:
        await wired.registry.apply(bundle({"acme": {"name": "Acme", "policy": "eu-only"}}))
        await set_state(wired, "acme", "suspended")
        job = await wired.lifecycle.request(JobKind.RESUME, "acme", actor="ops")
        async with database.session_factory(wired.engine)() as session, session.begin():
            failed = {"state": JobState.FAILED.value, "error": "a step failed"}
            await session.execute(update(JobRow).where(JobRow.id == job.id).values(**failed))
    async with wired_with(settings, **US_EAST) as moved:  # the data moved since the request
        with pytest.raises(PolicyViolated) as caught:
            await moved.lifecycle.retry(job.id)
        await assert_refused(moved, caught, "acme", "residency")
        assert (await moved.lifecycle.get(job.id)).state is JobState.FAILED


# Encryption


async def test_an_old_key_refuses_a_transition_and_an_apply(settings: Settings) -> None:
    async with wired_with(settings) as wired:
        spec = {"name": "Acme", "policy": "fresh-keys"}
        await wired.registry.apply(bundle({"acme": spec}))
        await wired.controller.reconcile("acme")  # provisions it: its key is made
        assert (await wired.policies.check("acme")).passed
        await set_state(wired, "acme", "suspended")
    later = utc_now() + timedelta(days=45)
    async with wired_with(settings, clock=lambda: later) as wired:
        with pytest.raises(PolicyViolated) as caught:
            await wired.lifecycle.request(JobKind.RESUME, "acme", actor="ops")
        await assert_refused(wired, caught, "acme", "encryption")
        assert "rotate-keys is due" in caught.value.message
        report = await wired.policies.check("acme")
        assert not report.passed and report.due == ["rotate-keys"]
        with pytest.raises(PolicyViolated):
            await wired.registry.apply(bundle({"acme": {**spec, "name": "Acme Inc."}}))
        assert (await wired.registry.get("acme")).name == "Acme"
        # Rotating the key is what the policy asks for: never refused.
        await set_state(wired, "acme", "active")
        job = await wired.lifecycle.request(JobKind.ROTATE_KEYS, "acme", actor="ops")
        assert job.kind is JobKind.ROTATE_KEYS


async def test_a_provisioned_tenant_without_a_key_is_refused(settings: Settings) -> None:
    async with wired_with(settings) as wired:
        await wired.registry.apply(bundle({"acme": {"name": "Acme", "policy": "fresh-keys"}}))
        await set_state(wired, "acme", "suspended")  # as if provisioned, but no key was made
        with pytest.raises(PolicyViolated) as caught:
            await wired.lifecycle.request(JobKind.RESUME, "acme", actor="ops")
        assert "no key of its own" in caught.value.message


# Retention


async def test_retention_refuses_a_delete_now_and_delays_the_purge(settings: Settings) -> None:
    async with wired_with(settings) as wired:
        await wired.registry.apply(bundle({"acme": {"name": "Acme", "policy": "keep"}}))
        with pytest.raises(PolicyViolated) as caught:
            await wired.lifecycle.request(
                JobKind.DELETE, "acme", actor="ops", options={"now": True}
            )
        await assert_refused(wired, caught, "acme", "retention")
        assert (await wired.registry.get("acme")).lifecycle_state == "pending"
        job = await wired.lifecycle.request(JobKind.DELETE, "acme", actor="ops")
        assert job.state is JobState.SCHEDULED and job.not_before is not None
        assert job.not_before - job.created_at == timedelta(days=30)


async def test_retention_keeps_the_longer_of_the_plan_and_the_policy(settings: Settings) -> None:
    long = {"name": "Acme", "policy": "keep", "limits": {"retention": {"purge_after": "60d"}}}
    async with wired_with(settings) as wired:
        await wired.registry.apply(bundle({"acme": long}))
        job = await wired.lifecycle.request(JobKind.DELETE, "acme", actor="ops")
        assert job.not_before is not None and job.not_before - job.created_at == timedelta(days=60)


async def test_retention_refuses_an_apply_that_keeps_data_shorter(settings: Settings) -> None:
    short = {"name": "Acme", "policy": "keep", "limits": {"retention": {"purge_after": "7d"}}}
    async with wired_with(settings) as wired:
        with pytest.raises(PolicyViolated) as caught:
            await wired.registry.apply(bundle({"acme": short}))
        assert "shorter than the policy's 30 days" in caught.value.message
        await assert_refused(wired, caught, "acme", "retention")


async def test_retention_refuses_deleting_a_young_archive(settings: Settings) -> None:
    async with wired_with(settings) as wired:
        await wired.registry.apply(bundle({"acme": {"name": "Acme", "policy": "keep"}}))
        await set_state(wired, "acme", "archived")
        now = utc_now()
        async with database.session_factory(wired.engine)() as session, session.begin():
            session.add(_finished_archive("acme", now - timedelta(days=3)))
        with pytest.raises(PolicyViolated) as caught:
            await wired.lifecycle.request(JobKind.DELETE, "acme", actor="ops")
        assert "the archive is 3 days old" in caught.value.message


def _finished_archive(tenant: str, at: datetime) -> JobRow:
    return JobRow(
        id="a" * 32,
        tenant_id=tenant,
        env_id=None,
        kind=JobKind.ARCHIVE.value,
        state=JobState.SUCCEEDED.value,
        steps=[],
        progress=100,
        params={},
        previous_state="suspended",
        requested_by="ops",
        correlation_id=None,
        cancel_requested=False,
        created_at=at,
        updated_at=at,
        finished_at=at,
    )


# Plans


async def test_a_plan_refuses_a_profile_at_apply(settings: Settings) -> None:
    async with wired_with(settings) as wired:
        by = Attribution("cli:ops", "bundle.apply", correlation_id="c0ffee")
        with pytest.raises(PolicyViolated) as caught:
            await wired.registry.apply(
                bundle({"acme": {"name": "Acme", "plan": "starter", "profile": "st-dedicated"}}),
                audit=by,
            )
        assert "plan 'starter' does not allow profile 'st-dedicated'" in caught.value.message
        await assert_refused(wired, caught, "acme", "plan")
        assert caught.value.details["policy"] is None  # the plan refused it, no policy
        [record], _ = await refusals(wired, "acme")  # recorded as who asked, not as "apply"
        assert (record.actor, record.correlation_id) == ("cli:ops", "c0ffee")


async def test_a_plan_refuses_a_transition(settings: Settings) -> None:
    async with wired_with(settings) as wired:
        await wired.registry.apply(bundle({"acme": {"name": "Acme", "plan": "starter"}}))
        await set_state(wired, "acme", "active")
        with pytest.raises(PolicyViolated) as caught:
            await wired.lifecycle.request(JobKind.ARCHIVE, "acme", actor="ops")
        await assert_refused(wired, caught, "acme", "plan")
        assert "does not allow a archive transition" in caught.value.message
        await wired.lifecycle.request(JobKind.SUSPEND, "acme", actor="ops")  # always allowed


async def test_a_plan_refuses_a_limit_change(settings: Settings) -> None:
    plans = {"starter": {"rate": 10, "allows": {"overrides": ["burst"]}}}
    async with wired_with(settings) as wired:
        ok = {"name": "Acme", "plan": "starter", "limits": {"burst": 5}}
        await wired.registry.apply(bundle({"acme": ok}, plans=plans))
        with pytest.raises(PolicyViolated) as caught:
            changed = {**ok, "limits": {"burst": 5, "rate": 500}}
            await wired.registry.apply(bundle({"acme": changed}, plans=plans))
        assert "overriding the limit 'rate'" in caught.value.message
        async with database.session_factory(wired.engine)() as session:
            row = await session.get(TenantRow, "acme")
            assert row is not None and row.spec["limits"] == {"burst": 5}


# A compliant tenant, isolation, bad references


async def test_a_compliant_tenant_passes_everything(settings: Settings) -> None:
    every = {
        "strict": {
            "residency": {"regions": ["eu-west"]},
            "encryption": {"max_key_age": "90d"},
            "retention": {"purge_after": "30d"},
        }
    }
    spec = {"name": "Acme", "policy": "strict", "plan": "starter", "region": "eu-west"}
    async with wired_with(settings, **EU_WEST) as wired:
        await wired.registry.apply(bundle({"acme": spec}, policies=every))
        await wired.controller.reconcile("acme")
        report = await wired.policies.check("acme")
        assert report.passed and report.due == []
        assert {r.check.value: r.status.value for r in report.checks} == {
            "plan": "passed",
            "residency": "passed",
            "encryption": "passed",
            "retention": "passed",
        }
        await set_state(wired, "acme", "suspended")
        await wired.lifecycle.request(JobKind.RESUME, "acme", actor="ops")
        assert await refusals(wired, "acme") == ([], [])
        [view] = await wired.policies.list()
        assert view.name == "strict" and view.spec["retention"] == {"purge_after": 2_592_000}


async def test_one_tenants_policy_never_applies_to_another(settings: Settings) -> None:
    async with wired_with(settings, **US_EAST) as wired:
        await wired.registry.apply(bundle({"beta": {"name": "Beta"}, "acme": {"name": "Acme"}}))
        with pytest.raises(PolicyViolated):  # acme takes the policy: only acme is refused
            await wired.registry.apply(
                bundle({"beta": {"name": "Beta"}, "acme": {"name": "Acme", "policy": "eu-only"}})
            )
        await wired.registry.apply(
            bundle({"beta": {"name": "Beta", "region": "us-east"}, "acme": {"name": "Acme"}})
        )
        await set_state(wired, "beta", "suspended")
        await wired.lifecycle.request(JobKind.RESUME, "beta", actor="ops")
        report = await wired.policies.check("beta")
        assert report.passed and report.policy is None
        assert await refusals(wired, "beta") == ([], [])
        assert len((await refusals(wired, "acme"))[0]) == 1


async def test_an_undefined_policy_is_refused_over_the_api_path(settings: Settings) -> None:
    async with wired_with(settings) as wired:
        with pytest.raises(PolicyUnknown, match="policy 'nope' is not defined"):
            await wired.registry.create(
                "acme", TenantSpec.model_validate({"name": "A", "policy": "nope"})
            )
        assert await count_tenants(wired) == 0
        await wired.registry.apply(bundle({}))  # stores the policies
        created = await wired.registry.create(
            "acme", TenantSpec.model_validate({"name": "A", "policy": "keep"})
        )
        assert created.tenant.lifecycle_state == "pending"

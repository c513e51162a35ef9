"""A delete waits the tenant's ``retention.purge_after`` (its plan's, or its own override)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenantry.bootstrap import Services
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, TenantSpec


@pytest.mark.parametrize(
    ("plans", "tenant", "expected"),
    [
        ({}, {}, timedelta(days=30)),
        ({"short": {"retention": {"purge_after": "12h"}}}, {"plan": "short"}, timedelta(hours=12)),
        (
            {"short": {"retention": {"purge_after": "12h"}}},
            {"plan": "short", "limits": {"retention": {"purge_after": "2d"}}},
            timedelta(days=2),
        ),
    ],
)
async def test_the_purge_is_scheduled_after_the_plans_retention(
    wired: Services, plans: dict[str, object], tenant: dict[str, object], expected: timedelta
) -> None:
    defined = {name: LimitsSpec.model_validate(spec) for name, spec in plans.items()}
    await wired.registry.apply(Bundle(plans=defined))  # stores the plans, holds no tenant
    await wired.registry.create("zeta", TenantSpec.model_validate({"name": "Zeta", **tenant}))
    job = await wired.lifecycle.request(JobKind.DELETE, "zeta", actor="test")
    assert job.state is JobState.SCHEDULED and job.not_before is not None
    assert job.not_before - job.created_at == expected

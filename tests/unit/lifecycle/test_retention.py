"""retention.purge_after: the plan's key, its default and its format."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tenantry.tenancy.lifecycle.retention import purge_after, purge_after_of_spec
from tenantry.tenancy.limits import plans
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import TenantSpec


def _limits(**retention: Any) -> LimitsSpec:
    return LimitsSpec.model_validate({"retention": retention})


def test_the_default_is_thirty_days() -> None:
    assert purge_after(plans.effective(None)) == timedelta(days=30)
    assert purge_after_of_spec({"name": "x"}) == timedelta(days=30)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        (3600, timedelta(hours=1)),
        (0, timedelta(0)),
        ("3650d", timedelta(days=3650)),
    ],
)
def test_a_plan_sets_it_as_a_duration(given: object, expected: timedelta) -> None:
    assert purge_after(plans.effective(_limits(purge_after=given))) == expected


def test_a_tenant_override_beats_its_plan() -> None:
    plan = _limits(purge_after="7d")
    assert purge_after(plans.effective(plan, _limits(purge_after="1d"))) == timedelta(days=1)
    assert purge_after(plans.effective(plan, LimitsSpec(rate=5))) == timedelta(days=7)


def test_a_stored_spec_is_read_through_its_limits() -> None:
    spec = TenantSpec.model_validate({"name": "x", "limits": {"retention": {"purge_after": "2d"}}})
    assert purge_after_of_spec(spec.model_dump(mode="json")) == timedelta(days=2)


@pytest.mark.parametrize("given", ["30x", "-1", -1, True, "1.5d", "3651d", "d", [1]])
def test_bad_values_are_refused(given: object) -> None:
    with pytest.raises(ValidationError):
        _limits(purge_after=given)


def test_unknown_retention_keys_are_refused() -> None:
    with pytest.raises(ValidationError):
        LimitsSpec.model_validate({"retention": {"purge": "1d"}})

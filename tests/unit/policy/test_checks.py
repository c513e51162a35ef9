"""The policy checks are pure: each is a matrix of a policy, a tenant's facts and an action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.manifests.schemas import PlanAllows, PlanSpec, TenantSpec
from tenantry.tenancy.policy import checks
from tenantry.tenancy.policy.checks import Check
from tenantry.tenancy.policy.facts import Backend, Backends, Doing, Facts, Resource, of_spec
from tenantry.tenancy.policy.schemas import PolicySpec

NOW = datetime(2026, 12, 6, tzinfo=UTC)
APPLY = Doing()
EU = Backends({r: Backend("embedded", "eu-west") for r in Resource})


def facts(
    spec: dict[str, Any] | None = None,
    *,
    backends: Backends = EU,
    plan: dict[str, Any] | None = None,
    state: str | None = "active",
    key_age: timedelta | None = timedelta(days=1),
    archived: timedelta | None = None,
) -> Facts:
    tenant = TenantSpec.model_validate({"name": "Acme", **(spec or {})})
    return of_spec(
        "acme",
        tenant.model_dump(mode="json"),
        state=state,
        plan=None if plan is None else PlanSpec.model_validate(plan),
        backends=backends,
        key_created_at=None if key_age is None else NOW - key_age,
        now=NOW,
        archived_at=None if archived is None else NOW - archived,
    )


def policy(**sections: Any) -> PolicySpec:
    return PolicySpec.model_validate(sections)


def found(spec: PolicySpec | None, seen: Facts, doing: Doing = APPLY) -> list[Check]:
    return [v.check for v in checks.evaluate(spec, seen, doing)]


EU_ONLY = policy(residency={"regions": ["eu-west", "eu-central"]})


@pytest.mark.parametrize(
    ("spec", "backends", "expected"),
    [
        ({}, EU, 0),
        ({"region": "eu-west"}, EU, 0),
        ({"region": "us-east"}, EU, 6),  # declared outside; 5 backends not where declared
        ({"environments": [{"id": "prod", "region": "eu-central"}]}, EU, 5),  # 5 resources
        ({}, Backends({r: Backend("embedded", "us-east") for r in Resource}), 5),
        ({}, Backends({r: Backend("embedded", None) for r in Resource}), 5),
        ({"profile": "st-byoc", "region": "eu-west"}, EU, 0),  # the customer's db: declared
        ({"profile": "st-byoc"}, EU, 1),  # the customer's db declares no region
    ],
)
def test_residency(spec: dict[str, Any], backends: Backends, expected: int) -> None:
    violations = checks.residency_violations(
        EU_ONLY.residency,  # type: ignore[arg-type]
        facts(spec, backends=backends),
    )
    assert len(violations) == expected
    assert all(v.check is Check.RESIDENCY for v in violations)


def test_a_backend_without_a_region_names_the_setting_to_set() -> None:
    backends = Backends({**EU.by_resource, Resource.STATE: Backend("redis", None)})
    [violation] = checks.evaluate(EU_ONLY, facts(backends=backends), Doing())
    assert "TENANTRY_REDIS_REGION" in violation.reason and "state" in violation.reason


@pytest.mark.parametrize(
    ("kind", "refused"),
    [
        (None, True),
        (JobKind.RESUME, True),
        (JobKind.MIGRATE, True),
        (JobKind.RESTORE, True),
        (JobKind.SUSPEND, False),
        (JobKind.ARCHIVE, False),
        (JobKind.DELETE, False),
        (JobKind.ROTATE_KEYS, False),
    ],
)
def test_residency_and_encryption_never_hold_back_taking_a_tenant_out_of_service(
    kind: JobKind | None, refused: bool
) -> None:
    strict = policy(residency={"regions": ["us-east"]}, encryption={"max_key_age": "30d"})
    old = facts(key_age=timedelta(days=31))
    assert bool(found(strict, old, Doing(kind))) is refused


@pytest.mark.parametrize(
    ("encryption", "state", "key_age", "expected"),
    [
        ({"max_key_age": "90d"}, "active", timedelta(days=89), []),
        ({"max_key_age": "90d"}, "active", timedelta(days=91), [Check.ENCRYPTION]),
        ({}, "active", timedelta(days=9000), []),  # no age limit
        ({}, "active", None, [Check.ENCRYPTION]),  # provisioned without a key of its own
        ({"tenant_key": False}, "active", None, []),
        ({}, "pending", None, []),  # the key is made when it is provisioned
        ({}, None, None, []),  # a new tenant of an apply
    ],
)
def test_encryption(
    encryption: dict[str, Any], state: str | None, key_age: timedelta | None, expected: list[Check]
) -> None:
    seen = facts(state=state, key_age=key_age)
    assert found(policy(encryption=encryption), seen) == expected


def test_an_old_key_says_rotate_keys_is_due() -> None:
    spec = policy(encryption={"max_key_age": "30d"})
    [violation] = checks.evaluate(spec, facts(key_age=timedelta(days=45)), Doing())
    assert violation.details["due"] == "rotate-keys"
    assert "45 days" in violation.reason and "tenantry rotate-keys acme" in violation.reason


@pytest.mark.parametrize(
    ("retention", "spec", "doing", "state", "archived", "expected"),
    [
        ({"purge_after": "30d"}, {}, Doing(JobKind.DELETE), "active", None, []),
        ({"purge_after": "30d"}, {}, Doing(JobKind.DELETE, purge_now=True), "active", None, 1),
        ({"purge_after": 0}, {}, Doing(JobKind.DELETE, purge_now=True), "active", None, []),
        ({"archive": "90d"}, {}, Doing(JobKind.DELETE), "archived", timedelta(days=10), 1),
        ({"archive": "90d"}, {}, Doing(JobKind.DELETE), "archived", timedelta(days=100), []),
        (
            {"purge_after": "30d"},
            {"limits": {"retention": {"purge_after": "7d"}}},
            Doing(),
            "active",
            None,
            1,
        ),
        (
            {"purge_after": "30d"},
            {"limits": {"retention": {"purge_after": "60d"}}},
            Doing(),
            "active",
            None,
            [],
        ),
        ({"purge_after": "30d"}, {}, Doing(JobKind.SUSPEND), "active", None, []),
        ({"purge_after": "30d"}, {}, Doing(JobKind.DELETE, True, scoped=True), "active", None, []),
    ],
)
def test_retention(
    retention: dict[str, Any],
    spec: dict[str, Any],
    doing: Doing,
    state: str,
    archived: timedelta | None,
    expected: list[Check] | int,
) -> None:
    seen = facts(spec, state=state, archived=archived)
    violations = found(policy(retention=retention), seen, doing)
    assert violations == ([Check.RETENTION] * expected if isinstance(expected, int) else expected)


STARTER = {
    "rate": 10,
    "allows": {"profiles": ["mt-standard"], "transitions": ["resume"], "overrides": ["burst"]},
}


@pytest.mark.parametrize(
    ("spec", "doing", "count"),
    [
        ({"plan": "starter", "limits": {"rate": 10}}, Doing(), 0),
        ({"plan": "starter", "profile": "st-dedicated", "limits": {"rate": 10}}, Doing(), 1),
        ({"plan": "starter", "limits": {"rate": 10, "burst": 5}}, Doing(), 0),  # allowed
        ({"plan": "starter", "limits": {"rate": 20}}, Doing(), 1),  # rate is not
        ({"plan": "starter", "limits": {"rate": 10}}, Doing(JobKind.ARCHIVE), 1),
        ({"plan": "starter", "limits": {"rate": 10}}, Doing(JobKind.RESUME), 0),
        ({"plan": "starter", "limits": {"rate": 10}}, Doing(JobKind.SUSPEND), 0),  # always
        ({"plan": "starter", "limits": {"rate": 10}}, Doing(JobKind.DELETE), 0),  # always
    ],
)
def test_plan(spec: dict[str, Any], doing: Doing, count: int) -> None:
    violations = checks.evaluate(None, facts(spec, plan=STARTER), doing)
    assert [v.check for v in violations] == [Check.PLAN] * count
    assert all("plan 'starter' does not allow" in v.reason for v in violations)


def test_a_plan_that_declares_nothing_allows_anything() -> None:
    spec = {"profile": "st-byoc", "limits": {"rate": 99}}
    assert checks.evaluate(None, facts(spec, plan={"rate": 10}), Doing(JobKind.MIGRATE)) == []


def test_no_policy_checks_nothing_but_the_plan() -> None:
    seen = facts({"region": "anywhere"}, backends=Backends({}), key_age=None)
    assert checks.evaluate(None, seen, Doing(JobKind.DELETE, purge_now=True)) == []


def test_allows_rejects_unknown_limits() -> None:
    with pytest.raises(ValueError, match="unknown limits"):
        PlanAllows.model_validate({"overrides": ["speed"]})

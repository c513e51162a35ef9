"""The ``policies:`` section, a tenant's ``policy:`` and ``region:``, and a plan's ``allows:``:
parsed as the rest of a bundle, every problem at its file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.errors import Issue, ManifestError
from tenantry.tenancy.manifests.schemas import TenantSpec
from tenantry.tenancy.registry.plan import spec_hash

BUNDLE = """\
plans:
  starter:
    rate: 10
    allows:
      profiles: [mt-standard]
      transitions: [suspend, resume]
      overrides: [burst]
policies:
  eu-only:
    residency: {regions: [eu-west]}
    encryption: {max_key_age: 90d}
    retention: {audit: 365d, archive: 180d, purge_after: 30d}
tenants:
  acme:
    name: Acme
    plan: starter
    policy: eu-only
    region: eu-west
    environments:
      - id: prod
      - {id: staging, region: eu-west}
"""


def issues_of(path: Path) -> list[Issue]:
    with pytest.raises(ManifestError) as caught:
        loader.load([path])
    return list(caught.value.issues)


def test_a_bundle_with_policies_loads(tmp_path: Path) -> None:
    path = tmp_path / "bundle.yaml"
    path.write_text(BUNDLE)
    bundle = loader.load([path])
    policy = bundle.policies["eu-only"]
    assert policy.residency is not None and policy.residency.regions == ["eu-west"]
    assert policy.encryption is not None and policy.encryption.max_key_age == 90 * 86_400
    assert policy.retention is not None and policy.retention.archive == 180 * 86_400
    acme = bundle.tenants["acme"]
    assert (acme.policy, acme.region, acme.environments[1].region) == (
        "eu-only",
        "eu-west",
        "eu-west",
    )
    allows = bundle.plans["starter"].allows
    assert allows is not None and allows.profiles == ["mt-standard"]
    # The stored limits are the plan's limits only: ``allows`` is not a limit.
    assert acme.limits is not None and acme.limits.model_dump(mode="json") == {"rate": 10.0}


def test_a_tenant_without_policy_or_region_keeps_its_spec_hash() -> None:
    spec = TenantSpec.model_validate({"name": "Acme"})
    dumped = spec.model_dump(mode="json")
    assert "policy" not in dumped and "region" not in dumped
    assert "region" not in dumped["environments"][0]
    assert spec_hash(dumped) == spec_hash({**dumped})


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("policies:\n  eu:\n    residency: {regions: []}\ntenants: {}\n", 3, 26, "at least 1"),
        ("policies:\n  eu:\n    residency: {regions: [EU]}\ntenants: {}\n", 3, 27, "pattern"),
        (
            "policies:\n  eu:\n    encryption: {max_key_age: soon}\ntenants: {}\n",
            3,
            31,
            "not a duration",
        ),
        (
            "policies:\n  eu:\n    retention: {forever: 1}\ntenants: {}\n",
            3,
            17,
            "unknown key 'forever'",
        ),
        ("policies:\n  EU:\n    residency: {regions: [eu]}\ntenants: {}\n", 2, 3, ""),
        (
            "tenants:\n  acme:\n    name: A\n    policy: missing\n",
            4,
            13,
            "undefined policy 'missing'",
        ),
        (
            "plans:\n  p:\n    allows: {overrides: [speed]}\ntenants: {}\n",
            3,
            25,
            "unknown limits",
        ),
        ("plans:\n  p:\n    allows: {profiles: [mt-shared]}\ntenants: {}\n", 3, 25, "st-dedicated"),
        (
            "tenants:\n  acme:\n    name: A\n    environments: [{id: prod, region: Mars}]\n",
            4,
            0,
            "pattern",
        ),
    ],
)
def test_a_bad_policy_manifest_is_located(
    tmp_path: Path, text: str, line: int, column: int, message: str
) -> None:
    path = tmp_path / "bundle.yaml"
    path.write_text(text)
    found = issues_of(path)
    assert len(found) == 1, found
    [issue] = found
    assert issue.line == line and column in (0, issue.column), issue
    assert issue.file == str(path)
    assert message in issue.message

"""``max_token_ttl``: a plan's cap on token lifetimes, a duration in seconds or with a unit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from tenantry.tenancy.limits.plans import effective
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.errors import ManifestError


def test_the_default_is_a_day() -> None:
    assert effective(None).max_token_ttl == timedelta(hours=24)


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        (1, 1),
        ("90s", 90),
        ("30m", 1800),
        ("24h", 86_400),
        ("7d", 604_800),
        ("30d", 2_592_000),
        ("600", 600),
    ],
)
def test_durations(given: object, seconds: int) -> None:
    spec = LimitsSpec.model_validate({"max_token_ttl": given})
    assert spec.max_token_ttl == seconds
    assert effective(None, spec).max_token_ttl == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "bad", [0, "0s", "31d", 2_592_001, "1w", "1.5h", "-1", "", True, 1.5, None]
)
def test_bad_durations(bad: object) -> None:
    if bad is None:
        assert LimitsSpec.model_validate({"max_token_ttl": None}).max_token_ttl is None
        return
    with pytest.raises(ValidationError):
        LimitsSpec.model_validate({"max_token_ttl": bad})


def test_a_bundle_plan_sets_it(tmp_path: Path) -> None:
    path = tmp_path / "bundle.yaml"
    path.write_text(
        "plans:\n  short: {max_token_ttl: 15m}\n"
        "tenants:\n  acme: {name: Acme, plan: short}\n"
        "  beta: {name: Beta, limits: {max_token_ttl: 2h}}\n"
    )
    bundle = loader.load([path])
    stored = {t: bundle.tenants[t].limits for t in ("acme", "beta")}
    assert {t: effective(None, s).max_token_ttl for t, s in stored.items()} == {
        "acme": timedelta(minutes=15),
        "beta": timedelta(hours=2),
    }
    path.write_text("tenants:\n  acme: {name: Acme, limits: {max_token_ttl: 40d}}\n")
    with pytest.raises(ManifestError, match="max_token_ttl"):
        loader.load([path])

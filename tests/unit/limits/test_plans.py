"""Plans: effective limits (pure), sizes, and plans and overrides in bundles."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tenantry.tenancy.limits as limits_package
from tenantry.tenancy.limits import plans
from tenantry.tenancy.limits.plans import RateLimit, effective, overlay
from tenantry.tenancy.limits.schemas import LimitsSpec, Period, Resource, RouteClass, parse_size
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.errors import ManifestError
from tests.conftest import EXAMPLE_BUNDLE, SPEC_EXAMPLES

GIB = 1024**3


def spec(**values: object) -> LimitsSpec:
    return LimitsSpec.model_validate(values)


def test_defaults_are_the_builtin_standard_plan() -> None:
    limits = effective(None)
    assert limits.rates[RouteClass.DEFAULT] == RateLimit(50.0, 100)
    assert limits.rates[RouteClass.AUTHORING] == RateLimit(5.0, 10)
    assert (limits.max_in_flight, limits.max_flow_executions) == (64, 16)
    assert limits.storage[Resource.OBJECTS].bytes == 10 * GIB
    assert limits.storage[Resource.SECRETS].count == 1000
    assert (limits.ai_tokens.cap, limits.ai_tokens.period) == (1_000_000, Period.MONTH)


@pytest.mark.parametrize(
    ("plan", "overrides", "expected"),
    [
        (None, None, (50.0, 100, 10 * GIB, 100_000)),
        (spec(rate=200), None, (200.0, 100, 10 * GIB, 100_000)),
        (spec(rate=200), spec(burst=7), (200.0, 7, 10 * GIB, 100_000)),
        (spec(rate=200), spec(rate=3), (3.0, 100, 10 * GIB, 100_000)),
        (
            spec(storage={"objects": {"bytes": "1GiB"}}),
            spec(storage={"objects": {"count": 5}}),
            (50.0, 100, GIB, 5),
        ),
        (None, spec(storage={"objects": {"bytes": 0, "count": 0}}), (50.0, 100, 0, 0)),
    ],
)
def test_plan_then_overrides_field_by_field(
    plan: LimitsSpec | None, overrides: LimitsSpec | None, expected: tuple[object, ...]
) -> None:
    limits = effective(plan, overrides)
    default, objects = limits.rates[RouteClass.DEFAULT], limits.storage[Resource.OBJECTS]
    assert (default.rate, default.burst, objects.bytes, objects.count) == expected
    assert limits.storage[Resource.SESSIONS].bytes == GIB  # untouched sections stay built-in


def test_authoring_is_never_looser_than_the_default_class() -> None:
    limits = effective(spec(rate=1, burst=2))
    assert limits.rates[RouteClass.AUTHORING] == RateLimit(1.0, 2)
    assert effective(spec(authoring_rate=2)).rates[RouteClass.AUTHORING].rate == 2.0


def test_overlay_keeps_what_the_top_leaves_unset() -> None:
    base = spec(rate=5, ai_tokens={"cap": 10, "period": "day"})
    merged = overlay(base, spec(ai_tokens={"cap": 20}))
    assert merged.rate == 5.0
    assert merged.ai_tokens is not None
    assert (merged.ai_tokens.cap, merged.ai_tokens.period) == (20, Period.DAY)
    assert overlay(None, None) == LimitsSpec()


finite = st.integers(min_value=1, max_value=10**5)


@given(a=finite, b=finite, c=finite)
def test_overlay_is_associative_and_the_top_wins(a: int, b: int, c: int) -> None:
    x, y, z = spec(burst=a), spec(burst=b, max_in_flight=a), spec(max_in_flight=c)
    assert overlay(overlay(x, y), z) == overlay(x, overlay(y, z))
    assert overlay(x, y).burst == b and overlay(y, z).max_in_flight == c


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        (0, 0),
        (1234, 1234),
        ("512", 512),
        ("1KB", 1000),
        ("1KiB", 1024),
        ("10 MiB", 10 * 1024**2),
        ("2GB", 2 * 10**9),
        ("3GiB", 3 * GIB),
        ("1TiB", 1024**4),
    ],
)
def test_sizes(given_: object, expected: int) -> None:
    assert parse_size(given_) == expected


@pytest.mark.parametrize("bad", ["1 potato", "-1", "1.5GiB", "GiB", "1gib", ""])
def test_bad_sizes(bad: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(bad)


def write(folder: Path, text: str) -> Path:
    path = folder / "bundle.yaml"
    path.write_text(text)
    return path


BUNDLE = """\
plans:
  pro:
    rate: 200
    storage:
      objects: {bytes: 50GiB}
    ai_tokens: {cap: 5000000, period: day}
tenants:
  acme:
    name: Acme
    plan: pro
    limits:
      burst: 1000
      storage:
        objects: {count: 7}
  beta:
    name: Beta
  gamma:
    name: Gamma
    limits: {rate: 1}
"""


def test_a_bundle_stores_each_tenants_plan_merged_with_its_overrides(tmp_path: Path) -> None:
    bundle = loader.load([write(tmp_path, BUNDLE)])
    stored = {tid: t.model_dump(mode="json").get("limits") for tid, t in bundle.tenants.items()}
    assert stored == {
        "acme": {
            "rate": 200.0,
            "burst": 1000,
            "storage": {"objects": {"bytes": 50 * GIB, "count": 7}},
            "ai_tokens": {"cap": 5_000_000, "period": "day"},
        },
        "beta": None,  # standard, not defined by the bundle: built-in defaults, nothing stored
        "gamma": {"rate": 1.0},
    }
    acme = effective(None, bundle.tenants["acme"].limits)
    assert acme.rates[RouteClass.DEFAULT] == RateLimit(200.0, 1000)
    assert acme.storage[Resource.OBJECTS].count == 7
    assert acme.ai_tokens.period is Period.DAY


def test_bundles_without_limits_store_exactly_what_they_stored_before() -> None:
    for source in [SPEC_EXAMPLES / "bundle.yaml", SPEC_EXAMPLES / "tenant.yaml"]:
        for tenant in loader.load([source]).tenants.values():
            assert "limits" not in tenant.model_dump(mode="json")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("plans:\n  pro:\n    rat: 3\ntenants: {}\n", "3:5", "unknown key 'rat'"),
        ("plans:\n  pro:\n    rate: 0\ntenants: {}\n", "3:11", "greater than 0"),
        ("plans:\n  pro:\n    burst: true\ntenants: {}\n", "3:12", "not a boolean"),
        ("plans:\n  pro:\n    storage: {files: {}}\ntenants: {}\n", "3:15", "unknown key 'files'"),
        (
            "plans:\n  pro:\n    storage: {state: {bytes: 1 potato}}\ntenants: {}\n",
            "3:30",
            "not a size",
        ),
        (
            "plans:\n  pro:\n    ai_tokens: {period: week}\ntenants: {}\n",
            "3:25",
            "'day' or 'month'",
        ),
        ("plans:\n  Pro: {}\ntenants: {}\n", "2:3", "does not match"),
        (
            "tenants:\n  a:\n    name: A\n    limits: {max_in_flight: 0}\n",
            "4:29",
            "greater than or equal to 1",
        ),
        ("tenants:\n  a:\n    name: A\n    limits: {rate: 1, extra: 2}\n", "4:23", "'extra'"),
        (
            "plans:\n  pro: {}\ntenants:\n  a:\n    name: A\n    plan: gold\n",
            "4:3",
            "tenant 'a' names plan 'gold'",
        ),
    ],
)
def test_bad_plans_and_overrides_are_located(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    with pytest.raises(ManifestError) as caught:
        loader.load([write(tmp_path, text)])
    issue = caught.value.issues[0]
    assert f"{issue.line}:{issue.column}" == where
    assert message in issue.message


def test_only_the_built_in_plan_is_known_when_the_bundle_defines_none() -> None:
    assert plans.known_plan("standard", {}) and not plans.known_plan("gold", {})
    assert plans.defined_plans({"gold": LimitsSpec()}) == (
        "defined plans: gold, standard (built in); a bundle defines others under 'plans:'"
    )


def test_the_documented_example_loads_as_documented(tmp_path: Path) -> None:
    package = limits_package
    assert package.__doc__ is not None
    block = package.__doc__.split("::\n\n", 1)[1].split("\n\n")[0]
    text = "\n".join(line[4:] for line in block.splitlines())
    bundle = loader.load([write(tmp_path, text.replace("plan: pro", "name: A\n    plan: pro"))])
    limits = effective(None, bundle.tenants["acme"].limits)
    assert limits.rates[RouteClass.DEFAULT] == RateLimit(200.0, 1000)
    assert limits.rates[RouteClass.AUTHORING] == RateLimit(20.0, 40)
    assert limits.storage[Resource.OBJECTS].item_bytes == GIB
    assert limits.storage[Resource.SECRETS].count == 5000
    assert limits.storage[Resource.SECRETS].bytes == 16 * 1024**2  # from the built-in plan


def test_plans_of_one_bundle_file_reach_tenants_of_every_file(tmp_path: Path) -> None:
    (tmp_path / "tenants").mkdir()
    (tmp_path / "bundle.yaml").write_text("plans:\n  pro:\n    rate: 200\ntenants: {}\n")
    tenant = "tenant:\n  id: {0}\n  name: {0}\n  plan: {1}\n"
    (tmp_path / "tenants" / "beta.yaml").write_text(tenant.format("beta", "pro"))
    (tmp_path / "tenants" / "gamma.yaml").write_text(tenant.format("gamma", "gold"))
    with pytest.raises(ManifestError) as caught:
        loader.load([tmp_path])
    [issue] = caught.value.issues
    assert issue.file.endswith("gamma.yaml") and "undefined plan 'gold'" in issue.message
    (tmp_path / "tenants" / "gamma.yaml").unlink()
    bundle = loader.load([tmp_path])
    assert effective(None, bundle.tenants["beta"].limits).rates[RouteClass.DEFAULT].rate == 200


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("tenants:\n  acme:\n    name: A\n    plan: enterprise\n", 11),
        ("tenant:\n  id: acme\n  name: A\n  plan: enterprise\n", 9),
    ],
    ids=["bundle-without-plans", "tenant-file"],
)
def test_an_undefined_plan_is_an_error_naming_the_defined_ones(
    tmp_path: Path, text: str, column: int
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(ManifestError) as caught:
        loader.load([path])
    [issue] = caught.value.issues
    assert "undefined plan 'enterprise'" in issue.message
    assert "defined plans: standard (built in)" in issue.message
    assert (issue.line, issue.column) == (4, column)


def test_the_example_bundle_defines_the_plans_it_names() -> None:
    bundle = loader.load([EXAMPLE_BUNDLE])
    assert bundle.tenants["bigcorp"].plan == "enterprise"
    limits = effective(None, bundle.tenants["bigcorp"].limits)
    assert limits.rates[RouteClass.DEFAULT] == RateLimit(200.0, 400)

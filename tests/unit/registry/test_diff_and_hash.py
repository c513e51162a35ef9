"""Field-level diffs (lists of ``id``-ed items matched by id) and the canonical spec hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tenantry.tenancy.manifests.schemas import Channel, Environment, Flow, Node, Team, TenantSpec
from tenantry.tenancy.registry.plan import FieldChange, diff, spec_hash

ENVS = [{"id": "prod", "name": "Production"}, {"id": "staging", "name": "Staging"}]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param({"a": 1}, {"a": 2}, [("a", 1, 2)], id="scalar"),
        pytest.param({"a": 1}, {"a": 1, "b": 2}, [("b", None, 2)], id="added-key"),
        pytest.param({"a": 1, "b": 2}, {"a": 1}, [("b", 2, None)], id="removed-key"),
        pytest.param({"a": None}, {"a": "x"}, [("a", None, "x")], id="null-to-value"),
        pytest.param({"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 2}}}, [("a.b.c", 1, 2)], id="deep"),
        pytest.param({"a": {"b": 1}}, {"a": 3}, [("a", {"b": 1}, 3)], id="dict-to-scalar"),
        pytest.param({"t": [1, 2]}, {"t": [2, 1]}, [("t", [1, 2], [2, 1])], id="plain-list"),
        pytest.param({"t": []}, {"t": []}, [], id="empty-lists"),
        pytest.param(
            {"t": [{"k": 1}]}, {"t": [{"k": 2}]}, [("t", [{"k": 1}], [{"k": 2}])], id="no-ids"
        ),
        pytest.param(
            {"environments": ENVS},
            {"environments": [ENVS[0], {"id": "staging", "name": "Pre-production"}]},
            [("environments.staging.name", "Staging", "Pre-production")],
            id="renamed-item",
        ),
        pytest.param(
            {"environments": ENVS},
            {"environments": [*ENVS, {"id": "dev", "name": None}]},
            [("environments.dev", None, {"name": None})],
            id="added-item",
        ),
        pytest.param(
            {"environments": ENVS},
            {"environments": ENVS[:1]},
            [("environments.staging", {"name": "Staging"}, None)],
            id="removed-item",
        ),
        pytest.param({"x": ENVS}, {"x": ENVS}, [], id="equal"),
    ],
)
def test_diff(before: Any, after: Any, expected: list[tuple[str, Any, Any]]) -> None:
    assert diff(before, after) == [FieldChange(*change) for change in expected]


def test_diff_paths_are_sorted_and_prefixed() -> None:
    before = {"b": 1, "a": {"z": 1, "y": 1}}
    after = {"b": 2, "a": {"z": 2, "y": 2}}
    assert [c.path for c in diff(before, after)] == ["a.y", "a.z", "b"]
    assert [c.path for c in diff(before, after, "spec")] == ["spec.a.y", "spec.a.z", "spec.b"]
    assert diff(1, 2) == [FieldChange("", 1, 2)]


def _spec(**update: Any) -> dict[str, Any]:
    base = TenantSpec(
        name="ACME",
        settings={"timezone": "UTC"},
        environments=[Environment(id="prod"), Environment(id="staging", name="Staging")],
        teams={
            "support": Team(
                name="Support",
                flow="support_flow",
                channels={"slack": Channel(provider="messaging-slack", config={"c": "1"})},
            ),
            "sales": Team(name="Sales"),
        },
        flows={
            "support_flow": Flow(
                name="support_flow",
                version="1.0",
                nodes=[Node(id="greet", type="reply", config={"message": "hi"})],
            )
        },
    )
    return base.model_copy(update=update).model_dump(mode="json")


def test_diff_of_real_specs_names_each_changed_field() -> None:
    before = _spec()
    teams = {
        "support": Team(
            name="Help",
            flow="support_flow",
            channels={"slack": Channel(provider="messaging-slack", config={"c": "2"})},
        ),
        "billing": Team(),
    }
    flows = {
        "support_flow": Flow(
            name="support_flow",
            version="1.1",
            nodes=[Node(id="hello", type="reply", config={"message": "hi"})],
        )
    }
    after = _spec(teams=teams, flows=flows, settings={"timezone": "UTC", "language": "en"})
    assert [c.path for c in diff(before, after)] == [
        "flows.support_flow.nodes.greet",
        "flows.support_flow.nodes.hello",
        "flows.support_flow.version",
        "settings.language",
        "teams.billing",
        "teams.sales",
        "teams.support.channels.slack.config.c",
        "teams.support.name",
    ]


def test_spec_hash_is_the_sha256_of_canonical_json() -> None:
    spec = {"b": [1, {"y": "é", "x": None}], "a": True}
    canonical = '{"a":true,"b":[1,{"x":null,"y":"é"}]}'
    assert spec_hash(spec) == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ({"a": {"x": 1, "y": [{"p": 1, "q": 2}]}}, {"a": {"y": [{"q": 2, "p": 1}], "x": 1}}),
        (_spec(), json.loads(json.dumps(_spec(), sort_keys=True))),
    ],
)
def test_spec_hash_ignores_key_order(one: dict[str, Any], other: dict[str, Any]) -> None:
    assert spec_hash(one) == spec_hash(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"a": 1}, {"a": 2}),
        ({"a": [1, 2]}, {"a": [2, 1]}),
        ({"a": None}, {}),
        ({"a": "1"}, {"a": 1}),
        (_spec(), _spec(name="ACME2")),
    ],
)
def test_spec_hash_tells_different_specs_apart(one: dict[str, Any], other: dict[str, Any]) -> None:
    assert spec_hash(one) != spec_hash(other)


def test_diff_survives_unhashable_ids_in_settings() -> None:
    before, after = {"settings": {"x": [{"id": [1]}]}}, {"settings": {"x": [{"id": [2]}]}}
    assert diff(before, after) != []


def test_diff_shows_the_values_as_given() -> None:
    before, after = {"x": [{"id": "a", "v": 1}]}, {"x": "none"}
    assert diff(before, after) == [FieldChange("x", [{"id": "a", "v": 1}], "none")]


def test_diff_reports_reordered_environments() -> None:
    assert diff({"environments": ENVS}, {"environments": ENVS[::-1]}) != []

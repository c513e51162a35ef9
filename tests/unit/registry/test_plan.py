"""The pure plan: what applying would change, decided from desired and stored state."""

from __future__ import annotations

from typing import Any

import pytest

from tenantry.tenancy.registry.plan import Action, FieldChange, Stored, diff, plan, spec_hash

SPEC: dict[str, Any] = {"name": "A", "environments": [{"id": "prod", "name": None}], "teams": {}}


def stored(spec: dict[str, Any], *, generation: int = 3, marked: bool = False) -> Stored:
    return Stored(spec_hash(spec), generation, marked, spec)


@pytest.mark.parametrize(
    ("desired", "old", "prune", "action", "generation", "note"),
    [
        ({"a": SPEC}, {}, False, Action.CREATED, 1, ""),
        ({"a": SPEC}, {"a": stored(SPEC)}, False, Action.UNCHANGED, 3, ""),
        ({"a": {**SPEC, "name": "B"}}, {"a": stored(SPEC)}, False, Action.CHANGED, 4, ""),
        (
            {},
            {"a": stored(SPEC)},
            False,
            Action.RETAINED,
            3,
            "not in the bundle; --prune removes it",
        ),
        ({}, {"a": stored(SPEC)}, True, Action.REMOVED, 3, "marked for deletion"),
        ({}, {"a": stored(SPEC, marked=True)}, True, Action.UNCHANGED, 3, "marked for deletion"),
        (
            {"a": SPEC},
            {"a": stored(SPEC, marked=True)},
            False,
            Action.CHANGED,
            3,
            "deletion cancelled",
        ),
        (
            {"a": {**SPEC, "name": "B"}},
            {"a": stored(SPEC, marked=True)},
            False,
            Action.CHANGED,
            4,
            "deletion cancelled",
        ),
    ],
)
def test_actions(
    desired: dict[str, Any],
    old: dict[str, Stored],
    prune: bool,
    action: Action,
    generation: int,
    note: str,
) -> None:
    (change,) = plan(desired, old, prune=prune).changes
    assert (change.action, change.generation, change.note) == (action, generation, note)


def test_has_changes_and_counts() -> None:
    result = plan({"a": SPEC, "b": SPEC}, {"a": stored(SPEC), "c": stored(SPEC)}, prune=False)
    assert [c.tenant_id for c in result.changes] == ["a", "b", "c"]
    assert result.has_changes
    assert (result.count(Action.CREATED), result.count(Action.UNCHANGED)) == (1, 1)
    assert result.count(Action.RETAINED) == 1
    assert not plan({"a": SPEC}, {"a": stored(SPEC), "c": stored(SPEC)}, prune=False).has_changes


def test_changes_without_stored_spec_have_no_field_diff() -> None:
    old = Stored(spec_hash(SPEC), 1, False)
    (change,) = plan({"a": {**SPEC, "name": "B"}}, {"a": old}, prune=False).changes
    assert change.action is Action.CHANGED and change.changes == ()


def test_diff_matches_list_items_by_id() -> None:
    before = {"environments": [{"id": "prod", "name": "P"}, {"id": "staging", "name": "S"}]}
    after = {"environments": [{"id": "staging", "name": "Stage"}, {"id": "dev", "name": None}]}
    assert diff(before, after) == [
        FieldChange("environments.dev", None, {"name": None}),
        FieldChange("environments.prod", {"name": "P"}, None),
        FieldChange("environments.staging.name", "S", "Stage"),
    ]


def test_diff_of_nested_keys_and_plain_lists() -> None:
    before = {"teams": {"s": {"name": "x"}}, "tags": [1, 2]}
    after = {"teams": {"s": {"name": "y", "flow": "f"}}, "tags": [2, 1]}
    assert diff(before, after) == [
        FieldChange("tags", [1, 2], [2, 1]),
        FieldChange("teams.s.flow", None, "f"),
        FieldChange("teams.s.name", "x", "y"),
    ]
    assert diff(before, before) == []


def test_spec_hash_ignores_key_order() -> None:
    assert spec_hash({"a": 1, "b": {"c": 2, "d": 3}}) == spec_hash({"b": {"d": 3, "c": 2}, "a": 1})
    assert spec_hash({"a": 1}) != spec_hash({"a": 2})

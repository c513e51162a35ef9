"""The pure plan, action by action: every stored/desired/prune combination and its generation."""

from __future__ import annotations

from typing import Any

import pytest

from tenantry.tenancy.manifests.schemas import Environment, Team, TenantSpec
from tenantry.tenancy.registry.plan import Action, Plan, Stored, TenantChange, plan, spec_hash

A: dict[str, Any] = TenantSpec(name="A", teams={"support": Team(name="S")}).model_dump(mode="json")
B: dict[str, Any] = {**A, "name": "B"}
RETAINED_NOTE = "not in the bundle; --prune removes it"
MARKED_NOTE = "marked for deletion"
CANCELLED_NOTE = "deletion cancelled"


def stored(spec: dict[str, Any], *, generation: int = 5, marked: bool = False) -> Stored:
    return Stored(spec_hash(spec), generation, marked, spec)


# (desired spec or None, stored spec or None, marked, prune) -> (action, generation, note)
MATRIX = [
    pytest.param(A, None, False, False, Action.CREATED, 1, "", id="new"),
    pytest.param(A, None, False, True, Action.CREATED, 1, "", id="new-prune"),
    pytest.param(A, A, False, False, Action.UNCHANGED, 5, "", id="same"),
    pytest.param(A, A, False, True, Action.UNCHANGED, 5, "", id="same-prune"),
    pytest.param(B, A, False, False, Action.CHANGED, 6, "", id="changed"),
    pytest.param(B, A, False, True, Action.CHANGED, 6, "", id="changed-prune"),
    pytest.param(None, A, False, False, Action.RETAINED, 5, RETAINED_NOTE, id="absent"),
    pytest.param(None, A, False, True, Action.REMOVED, 5, MARKED_NOTE, id="absent-prune"),
    pytest.param(None, A, True, False, Action.UNCHANGED, 5, MARKED_NOTE, id="marked-absent"),
    pytest.param(None, A, True, True, Action.UNCHANGED, 5, MARKED_NOTE, id="marked-prune"),
    pytest.param(A, A, True, False, Action.CHANGED, 5, CANCELLED_NOTE, id="re-added"),
    pytest.param(A, A, True, True, Action.CHANGED, 5, CANCELLED_NOTE, id="re-added-prune"),
    pytest.param(B, A, True, False, Action.CHANGED, 6, CANCELLED_NOTE, id="re-added-edited"),
]


@pytest.mark.parametrize(
    ("desired", "old", "marked", "prune", "action", "generation", "note"), MATRIX
)
def test_each_combination_decides_one_action(
    desired: dict[str, Any] | None,
    old: dict[str, Any] | None,
    marked: bool,
    prune: bool,
    action: Action,
    generation: int,
    note: str,
) -> None:
    wanted = {} if desired is None else {"acme": desired}
    have = {} if old is None else {"acme": stored(old, marked=marked)}
    result = plan(wanted, have, prune=prune)
    (change,) = result.changes
    assert (change.tenant_id, change.action, change.generation, change.note) == (
        "acme",
        action,
        generation,
        note,
    )
    writes = action in {Action.CREATED, Action.CHANGED, Action.REMOVED}
    assert result.has_changes is writes
    assert result.count(action) == 1
    assert sum(result.count(other) for other in Action) == 1


@pytest.mark.parametrize("generation", [1, 2, 41])
def test_a_changed_spec_bumps_the_stored_generation_by_one(generation: int) -> None:
    (change,) = plan({"t": B}, {"t": stored(A, generation=generation)}, prune=False).changes
    assert (change.action, change.generation) == (Action.CHANGED, generation + 1)


@pytest.mark.parametrize("generation", [1, 2, 41])
def test_unchanged_retained_and_removed_keep_the_generation(generation: int) -> None:
    old = {"t": stored(A, generation=generation)}
    for desired, prune in (({"t": A}, False), ({}, False), ({}, True)):
        (change,) = plan(desired, old, prune=prune).changes
        assert change.generation == generation


def test_only_changed_tenants_carry_field_changes() -> None:
    old = {"a": stored(A), "b": stored(A), "c": stored(A)}
    result = plan({"a": B, "b": A, "d": A}, old, prune=True)
    by_id = {c.tenant_id: c for c in result.changes}
    assert [(f.path, f.before, f.after) for f in by_id["a"].changes] == [("name", "A", "B")]
    assert all(by_id[t].changes == () for t in ("b", "c", "d"))


def test_a_renamed_environment_shows_in_the_tenant_change() -> None:
    envs = [Environment(id="prod"), Environment(id="staging", name="Staging")]
    before = TenantSpec(name="A", environments=envs).model_dump(mode="json")
    envs = [Environment(id="prod"), Environment(id="staging", name="Pre-production")]
    after = TenantSpec(name="A", environments=envs).model_dump(mode="json")
    (change,) = plan({"a": after}, {"a": stored(before)}, prune=False).changes
    assert [(f.path, f.before, f.after) for f in change.changes] == [
        ("environments.staging.name", "Staging", "Pre-production")
    ]


def test_a_mixed_plan_is_sorted_by_id_and_counted() -> None:
    old = {
        "e-unchanged": stored(A),
        "b-changed": stored(A),
        "c-removed": stored(A),
        "a-marked": stored(A, marked=True),
    }
    desired = {"e-unchanged": A, "b-changed": B, "d-created": A}
    result = plan(desired, old, prune=True)
    assert [(c.tenant_id, c.action) for c in result.changes] == [
        ("a-marked", Action.UNCHANGED),
        ("b-changed", Action.CHANGED),
        ("c-removed", Action.REMOVED),
        ("d-created", Action.CREATED),
        ("e-unchanged", Action.UNCHANGED),
    ]
    counts = {action: result.count(action) for action in Action}
    assert counts == {
        Action.CREATED: 1,
        Action.CHANGED: 1,
        Action.UNCHANGED: 2,
        Action.REMOVED: 1,
        Action.RETAINED: 0,
    }
    assert result.has_changes


@pytest.mark.parametrize(
    ("actions", "has_changes"),
    [
        ((), False),
        ((Action.UNCHANGED,), False),
        ((Action.RETAINED,), False),
        ((Action.UNCHANGED, Action.RETAINED), False),
        ((Action.CREATED,), True),
        ((Action.CHANGED,), True),
        ((Action.REMOVED,), True),
        ((Action.UNCHANGED, Action.RETAINED, Action.REMOVED), True),
    ],
)
def test_has_changes_only_for_writing_actions(
    actions: tuple[Action, ...], has_changes: bool
) -> None:
    result = Plan(tuple(TenantChange(f"t{i}", a, 1) for i, a in enumerate(actions)))
    assert result.has_changes is has_changes
    for action in Action:
        assert result.count(action) == actions.count(action)


def test_empty_inputs_plan_nothing() -> None:
    assert plan({}, {}, prune=True) == Plan(())


def test_planning_does_not_modify_its_inputs() -> None:
    desired = {"a": B}
    old = {"a": stored(A), "b": stored(A)}
    copies = ({k: dict(v) for k, v in desired.items()}, dict(old))
    plan(desired, old, prune=True)
    assert (desired, old) == copies

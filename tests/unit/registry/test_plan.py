"""Planning from spec hashes alone: the service reads stored specs only for changed tenants."""

from __future__ import annotations

from typing import Any

from tenantry.tenancy.registry.plan import Action, Stored, plan, spec_hash

SPEC: dict[str, Any] = {"name": "A", "environments": [{"id": "prod", "name": None}], "teams": {}}


def test_changes_without_stored_spec_have_no_field_diff() -> None:
    old = Stored(spec_hash(SPEC), 1, False)
    (change,) = plan({"a": {**SPEC, "name": "B"}}, {"a": old}, prune=False).changes
    assert change.action is Action.CHANGED and change.changes == ()

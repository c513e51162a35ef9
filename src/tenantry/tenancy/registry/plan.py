"""What applying a bundle would change, decided purely from desired and stored state."""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Action(enum.StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    REMOVED = "removed"  # marked for deletion (only with --prune)
    RETAINED = "retained"  # absent from the bundle, kept because --prune was not given


@dataclass(frozen=True, slots=True)
class Stored:
    """The part of a stored tenant that planning needs; ``spec`` only for field-level diffs."""

    spec_hash: str
    generation: int
    marked_for_deletion: bool
    spec: Mapping[str, Any] | None = None
    from_bundle: bool = True  # False: created over the API, which --prune leaves alone
    tombstoned: bool = False  # deleted: the id is never used again


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class TenantChange:
    tenant_id: str
    action: Action
    generation: int  # the generation after applying
    changes: tuple[FieldChange, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class PlanChange:
    """What applying does to one plan definition of the bundle (plans are never removed)."""

    name: str
    action: Action


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[TenantChange, ...]
    plans: tuple[PlanChange, ...] = ()
    policies: tuple[PlanChange, ...] = ()  # the bundle's policy definitions, by name

    @property
    def has_changes(self) -> bool:
        tenants = any(c.action in WRITING for c in self.changes)
        definitions = (*self.plans, *self.policies)
        return tenants or any(p.action in WRITING for p in definitions)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)


WRITING = frozenset({Action.CREATED, Action.CHANGED, Action.REMOVED})  # actions that store


def spec_hash(spec: Mapping[str, Any]) -> str:
    """A digest of a spec's canonical JSON: equal specs, equal hashes."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def plan(
    desired: Mapping[str, Mapping[str, Any]], stored: Mapping[str, Stored], *, prune: bool
) -> Plan:
    """Compare each desired tenant spec with what is stored, tenant by tenant, in id order.

    Deleted tenants (tombstones) are no longer tenants: the caller refuses a bundle naming one
    (:func:`tombstones`), and leaves them out of ``stored``."""
    changes = [_desired_change(tid, desired[tid], stored.get(tid)) for tid in desired]
    changes += [_absent_change(tid, stored[tid], prune) for tid in stored if tid not in desired]
    return Plan(tuple(sorted(changes, key=lambda change: change.tenant_id)))


def tombstones(desired: Mapping[str, Any], stored: Mapping[str, Stored]) -> list[str]:
    """The desired tenant ids that belong to deleted tenants (never reused), in order."""
    return sorted(tid for tid in desired if tid in stored and stored[tid].tombstoned)


def plan_definitions(
    desired: Mapping[str, Mapping[str, Any]], stored: Mapping[str, Mapping[str, Any]]
) -> tuple[PlanChange, ...]:
    """Compare the bundle's plan definitions with the stored ones, by name."""
    return tuple(
        PlanChange(name, _definition(desired[name], stored.get(name))) for name in sorted(desired)
    )


def _definition(desired: Mapping[str, Any], stored: Mapping[str, Any] | None) -> Action:
    if stored is None:
        return Action.CREATED
    return Action.UNCHANGED if spec_hash(stored) == spec_hash(desired) else Action.CHANGED


def _desired_change(tenant_id: str, spec: Mapping[str, Any], old: Stored | None) -> TenantChange:
    if old is None:
        return TenantChange(tenant_id, Action.CREATED, 1)
    if spec_hash(spec) != old.spec_hash:
        fields = tuple(diff(old.spec, spec)) if old.spec is not None else ()
        note = "deletion cancelled" if old.marked_for_deletion else ""
        return TenantChange(tenant_id, Action.CHANGED, old.generation + 1, fields, note)
    if old.marked_for_deletion:
        return TenantChange(tenant_id, Action.CHANGED, old.generation, (), "deletion cancelled")
    return TenantChange(tenant_id, Action.UNCHANGED, old.generation)


def _absent_change(tenant_id: str, old: Stored, prune: bool) -> TenantChange:
    if old.marked_for_deletion:
        return TenantChange(tenant_id, Action.UNCHANGED, old.generation, (), "marked for deletion")
    if not old.from_bundle:
        note = "created over the API; --prune leaves it"
        return TenantChange(tenant_id, Action.RETAINED, old.generation, (), note)
    if prune:
        return TenantChange(tenant_id, Action.REMOVED, old.generation, (), "marked for deletion")
    return TenantChange(
        tenant_id, Action.RETAINED, old.generation, (), "not in the bundle; --prune removes it"
    )


def diff(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Field-level differences between two JSON values.

    Two lists whose items all carry a distinct string ``id`` (environments) are matched by id,
    and a change of their order is reported as ``{path}.order``; anything else is compared as
    it is and shown as it was given.
    """
    if _identified(before) and _identified(after):
        order = (
            []
            if _ids(before) == _ids(after) or set(_ids(before)) != set(_ids(after))
            else [FieldChange(f"{path}.order", _ids(before), _ids(after))]
        )
        return _diff_mappings(_by_id(before), _by_id(after), path) + order
    if isinstance(before, dict) and isinstance(after, dict):
        return _diff_mappings(before, after, path)
    if before == after:
        return []
    return [FieldChange(path, _shown(before), _shown(after))]


def _diff_mappings(before: dict[Any, Any], after: dict[Any, Any], path: str) -> list[FieldChange]:
    found: list[FieldChange] = []
    for key in sorted(before.keys() | after.keys(), key=str):
        sub = f"{path}.{key}" if path else str(key)
        found += diff(before.get(key, _ABSENT), after.get(key, _ABSENT), sub)
    return found


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT = _Absent()


def _identified(value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    if not all(isinstance(v, dict) and isinstance(v.get("id"), str) for v in value):
        return False
    return len(set(_ids(value))) == len(value)


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def _by_id(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["id"]: {k: v for k, v in item.items() if k != "id"} for item in items}


def _shown(value: Any) -> Any:
    return None if value is _ABSENT else value

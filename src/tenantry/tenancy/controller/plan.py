"""What a reconcile must do, decided purely from desired, stored and observed state.

A reconcile only ever creates: what is owned but no longer wanted is orphaned (left as it is,
recorded), and an environment whose placement changed stays where it is until a migration
moves it. Removing or moving data is a lifecycle job's work, never a reconcile's.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass

from tenantry.tenancy.controller.resources import Kind, Reason, Resource
from tenantry.tenancy.isolation.placement import Placement

_ORDER = list(Kind)


class Verb(enum.StrEnum):
    ENSURE = "ensure"  # create if absent, adopt if present
    KEEP = "keep"  # left on its stored placement: moving it needs a migration
    ORPHAN = "orphan"  # no longer wanted: left as it is, recorded for the lifecycle's purge


_WHY = {
    Verb.KEEP: "moving it needs a migration",
    Verb.ORPHAN: "left in place for the lifecycle's purge",
}


@dataclass(frozen=True, slots=True)
class Step:
    verb: Verb
    resource: Resource
    reason: Reason | None = None
    detail: str = ""  # e.g. "mt-standard -> st-dedicated"

    @property
    def acts(self) -> bool:
        """Whether the step changes a resource or the record of what the tenant owns."""
        return self.verb is not Verb.KEEP

    def __str__(self) -> str:
        where = f"{self.resource.tenant_id}/{self.resource.env_id or '*'}"
        text = f"{self.verb.value} {self.resource.kind.value} {self.resource.name} ({where})"
        if self.reason is None:
            return text
        detail = f" ({self.detail})" if self.detail else ""
        return f"{text}: {self.reason.describe}{detail}, {_WHY[self.verb]}"


@dataclass(frozen=True, slots=True)
class Move:
    """An environment whose placement under the tenant's profile is not the one it serves on."""

    env_id: str
    current: Placement
    target: Placement

    def __str__(self) -> str:
        return f"{self.env_id}: {self.current.profile} -> {self.target.profile}"


def serving(
    targets: Sequence[Placement], stored: Mapping[str, Placement]
) -> tuple[list[Placement], list[Move]]:
    """The placement each wanted environment serves on, and the moves that wait for a migration.

    A new environment takes its target placement; one already placed keeps its stored
    placement, and when that differs from the target the difference is a move.
    """
    placements, moves = [], []
    for target in targets:
        current = stored.get(target.env_id, target)
        placements.append(current)
        if current != target:
            moves.append(Move(target.env_id, current, target))
    return placements, moves


def recovered(
    left: Set[Resource], candidates: Iterable[tuple[Placement, Set[Resource]]]
) -> Placement | None:
    """The placement a removed environment's orphaned resources belong to: the candidate that
    needs exactly them, else the first that needs them all (a crash may have left fewer)."""
    covering = [(placement, needs) for placement, needs in candidates if left <= needs]
    exact = [placement for placement, needs in covering if needs == left]
    found = exact or [placement for placement, _ in covering]
    return found[0] if found else None


def orphans(
    owned: Iterable[Resource], wanted: Set[Resource], environments: Set[str]
) -> dict[Resource, Reason]:
    """What the tenant owns but no longer wants, and why."""
    return {r: _why(r, environments) for r in sorted(set(owned) - wanted, key=_rank)}


def plan(
    desired: Iterable[Resource],
    existing: Set[Resource],
    owned: Iterable[Resource],
    *,
    environments: Set[str],
    orphaned: Set[Resource] = frozenset(),
    moves: Mapping[Resource, Move] | None = None,
) -> list[Step]:
    """Ensure every desired resource that does not exist (key first, then relational, objects,
    messaging: a tenant's data is encrypted with its key); say what stays for a move; orphan what
    is owned, no longer wanted and not yet recorded as orphaned. No step removes anything.
    """
    wanted = set(desired)
    ensures = [Step(Verb.ENSURE, r) for r in sorted(wanted - existing, key=_rank)]
    keeps = [
        Step(Verb.KEEP, r, Reason.PROFILE_CHANGED, f"{m.current.profile} -> {m.target.profile}")
        for r, m in sorted((moves or {}).items(), key=lambda item: _rank(item[0]))
    ]
    fresh = {r: why for r, why in orphans(owned, wanted, environments).items() if r not in orphaned}
    return ensures + keeps + [Step(Verb.ORPHAN, r, why) for r, why in fresh.items()]


def _why(resource: Resource, environments: Set[str]) -> Reason:
    if resource.env_id in environments:
        return Reason.PROFILE_CHANGED
    return Reason.ENVIRONMENT_REMOVED


def _rank(resource: Resource) -> tuple[int, str, str]:
    return _ORDER.index(resource.kind), resource.env_id or "", resource.name

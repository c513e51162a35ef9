"""What a reconcile must do, decided purely from desired and observed resources."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Set
from dataclasses import dataclass

from tenantry.tenancy.controller.resources import Kind, Resource

_ORDER = list(Kind)


class Verb(enum.StrEnum):
    ENSURE = "ensure"
    RETIRE = "retire"


@dataclass(frozen=True, slots=True)
class Step:
    verb: Verb
    resource: Resource

    def __str__(self) -> str:
        where = f"{self.resource.tenant_id}/{self.resource.env_id or '*'}"
        return f"{self.verb.value} {self.resource.kind.value} {self.resource.name} ({where})"


def plan(
    desired: Iterable[Resource], existing: Set[Resource], owned: Iterable[Resource]
) -> list[Step]:
    """Ensure every desired resource that does not exist; retire what we own but no longer want.

    Ensures run key first, then relational, objects, messaging (a tenant's data is encrypted
    with its key); retires run in the reverse order, and after every ensure.
    """
    wanted = set(desired)
    ensures = sorted((r for r in wanted if r not in existing), key=_rank)
    retires = sorted((r for r in set(owned) - wanted), key=_rank, reverse=True)
    return [Step(Verb.ENSURE, r) for r in ensures] + [Step(Verb.RETIRE, r) for r in retires]


def _rank(resource: Resource) -> tuple[int, str, str]:
    return _ORDER.index(resource.kind), resource.env_id or "", resource.name

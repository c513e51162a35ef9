"""Steps and recipes: what a job kind does, as ordered, named, idempotent steps.

A recipe turns a job into its steps. Each step's ``run`` must be idempotent (a job killed at
any point re-runs the step it was in), and may record what later steps need with
:meth:`Work.remember`, which is persisted before it returns. ``undo`` rolls the step back when
the job is cancelled or fails before any ``final`` step has run; a ``final`` step is the point
of no return (an archive's removal, a delete's purge).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.states import JobKind


class Maintenance(Protocol):
    """The maintenance scope: a job step's way to a tenant's data whatever its lifecycle state.

    It ignores the serving rule (a suspended or archived tenant's data is reachable) and keeps
    every confinement: the scope is bound to one tenant environment by the runtime, which
    builds every name through ``core.names``. Only the job runner hands it out, to steps.
    """

    async def scope(
        self, tenant_id: str, env_id: str, placement: Placement | None = None
    ) -> TenantScope:
        """The tenant environment's scope on ``placement`` (default: its stored placement)."""
        ...


@dataclass(slots=True)
class Work:
    """What a running step gets: its job, the maintenance scope, and a persisted notebook."""

    job: Job
    maintenance: Maintenance
    _save: Callable[[dict[str, Any]], Awaitable[None]]
    outputs: dict[str, Any] = field(default_factory=dict)

    async def remember(self, **values: Any) -> None:
        """Persist ``values`` in the job (``params.outputs``) for later steps and resumes."""
        self.outputs.update(values)
        await self._save(dict(self.outputs))


StepFn = Callable[[Work], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    run: StepFn
    undo: StepFn | None = None
    final: bool = False  # the point of no return: after it, no cancel or rollback


Recipe = Callable[[Job], Sequence[Step]]
Recipes = Mapping[JobKind, Recipe]

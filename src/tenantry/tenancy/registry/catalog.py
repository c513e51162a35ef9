"""Stored plans: what a bundle defines under ``plans:`` is kept, so a tenant created over the API
names a plan that exists, and the built-in ``standard`` is always there."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.limits import plans as limit_plans
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import PlanSpec, TenantSpec, with_plan
from tenantry.tenancy.registry import plan as planning
from tenantry.tenancy.registry import repository
from tenantry.tenancy.registry.errors import PlanNotFound
from tenantry.tenancy.registry.models import PlanRow
from tenantry.tenancy.registry.schemas import PlanView

BUILT_IN = "built-in"


async def stored(session: AsyncSession) -> dict[str, PlanSpec]:
    rows = await repository.plan_definitions(session)
    return {row.name: PlanSpec.model_validate(row.limits) for row in rows}


async def with_stored_plan(session: AsyncSession, spec: TenantSpec) -> TenantSpec:
    """``spec`` with its plan's stored limits under its own, as an apply would store it;
    :class:`PlanNotFound` naming the defined plans when its plan is neither stored nor built in."""
    plans = await stored(session)
    if not limit_plans.known_plan(spec.plan, plans):
        raise PlanNotFound(
            f"plan {spec.plan!r} is not defined; {limit_plans.defined_plans(plans)}",
            details={"plan": spec.plan, "defined": sorted({*plans, *limit_plans.BUILTIN_PLANS})},
        )
    return with_plan(spec, plans)


async def store(
    session: AsyncSession,
    definitions: Mapping[str, LimitsSpec],
    changes: tuple[planning.PlanChange, ...],
    *,
    source: str,
    now: datetime,
) -> None:
    """Store the created and changed definitions (a plan is never removed: tenants name it)."""
    for change in changes:
        if change.action in (planning.Action.CREATED, planning.Action.CHANGED):
            limits = definitions[change.name].model_dump(mode="json")
            await repository.put_plan(session, change.name, limits, source=source, now=now)


def views(rows: list[PlanRow]) -> list[PlanView]:
    """Every plan, by name: the stored ones, and the built-in ones no bundle redefined."""
    found = [_view(row.name, row.limits, row.source, row.updated_at) for row in rows]
    named = {row.name for row in rows}
    for name, spec in limit_plans.BUILTIN_PLANS.items():
        if name not in named:
            found.append(_view(name, spec.model_dump(mode="json"), BUILT_IN, None))
    return sorted(found, key=lambda view: view.name)


def _view(name: str, limits: dict[str, object], source: str, at: datetime | None) -> PlanView:
    spec = PlanSpec.model_validate(limits)
    effective = limit_plans.overlay(limit_plans.BUILTIN_STANDARD, spec).model_dump(mode="json")
    return PlanView(name=name, limits=limits, effective=effective, source=source, updated_at=at)

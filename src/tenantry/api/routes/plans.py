"""``/api/v1/plans``: the plans tenants may name (platform admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import platform_admin
from tenantry.api.deps import ServicesDep
from tenantry.api.problems import problem_responses
from tenantry.tenancy.registry.schemas import PlanView

router = APIRouter(
    prefix="/api/v1/plans",
    tags=["tenants"],
    route_class=StrictJsonRoute,
    dependencies=[Depends(platform_admin)],
    responses=problem_responses(401, 403, 503),
)


class PlanList(BaseModel):
    items: list[PlanView]


@router.get("")
async def list_plans(services: ServicesDep) -> PlanList:
    """Every plan, by name: those applied bundles defined, and the built-in ``standard``."""
    return PlanList(items=await services.registry.plans())

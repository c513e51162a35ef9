"""``/api/v1/tenants``: the registry, for platform admins (a platform-admin token issued with
``tenantry token issue --role platform-admin``, or ``TENANTRY_ADMIN_TOKEN``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import platform_admin
from tenantry.api.deps import ServicesDep
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.paths import TenantIdPath
from tenantry.tenancy.registry.schemas import TenantDetail, TenantSummary

router = APIRouter(
    prefix="/api/v1/tenants",
    tags=["tenants"],
    route_class=StrictJsonRoute,
    dependencies=[Depends(platform_admin)],
    responses=problem_responses(401, 403, 503),
)


class TenantList(BaseModel):
    items: list[TenantSummary]


@router.get("")
async def list_tenants(services: ServicesDep) -> TenantList:
    """Every tenant, ordered by id."""
    return TenantList(items=await services.registry.list())


@router.get("/{tenant_id}", responses=problem_responses(400, 404))
async def get_tenant(tenant_id: TenantIdPath, services: ServicesDep) -> TenantDetail:
    """One tenant with its environments, teams, channels, flows and conditions."""
    return await services.registry.get(tenant_id)

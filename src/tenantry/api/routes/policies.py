"""``/api/v1/policies`` (platform admins) and ``/api/v1/policy-check`` (the caller's tenant's
admins): the stored policies, and how the caller's own tenant stands against its policy."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import TenantAdmin, platform_admin
from tenantry.api.deps import ServicesDep
from tenantry.api.problems import problem_responses
from tenantry.tenancy.policy.views import CheckReport, PolicyView

router = APIRouter(
    prefix="/api/v1",
    tags=["policies"],
    route_class=StrictJsonRoute,
    responses=problem_responses(401, 403, 429, 503),
)


class PolicyList(BaseModel):
    items: list[PolicyView]


@router.get("/policies", dependencies=[Depends(platform_admin)])
async def list_policies(services: ServicesDep) -> PolicyList:
    """Every policy applied bundles defined, by name."""
    return PolicyList(items=await services.policies.list())


@router.get("/policy-check", responses=problem_responses(400, 404))
async def check_policy(admin: TenantAdmin, services: ServicesDep) -> CheckReport:
    """Each check of the caller's tenant's policy and plan as it stands (a failed check is
    ``passed: false``, not an error: this reads, it refuses nothing)."""
    return await services.policies.check(admin.ctx.tenant_id)

"""``/api/v1/usage``: the caller's tenant's metered usage, per resource and period."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import Reader
from tenantry.api.deps import ServicesDep
from tenantry.api.problems import problem_responses
from tenantry.tenancy.limits.meters import Meters
from tenantry.tenancy.limits.schemas import Granularity, UsageReport

router = APIRouter(
    prefix="/api/v1/usage",
    tags=["usage"],
    route_class=StrictJsonRoute,
    responses=problem_responses(400, 401, 403, 404, 429, 503),
)


def get_meters(services: ServicesDep) -> Meters:
    return services.meters


MetersDep = Annotated[Meters, Depends(get_meters)]


@router.get("")
async def get_usage(
    access: Reader,
    meters: MetersDep,
    *,
    start: Annotated[
        datetime | None,
        Query(alias="from", description="Inclusive; default: the start of this UTC month."),
    ] = None,
    end: Annotated[
        datetime | None,
        Query(alias="to", description="Exclusive; default: the end of the current hour."),
    ] = None,
    resource: Annotated[
        str | None, Query(max_length=32, description="Only this metered resource.")
    ] = None,
    granularity: Annotated[
        Granularity, Query(description="Sum per day, per hour, or over the whole period.")
    ] = Granularity.DAY,
) -> UsageReport:
    """The caller's tenant's usage between ``from`` and ``to``, per resource (times without a
    zone are UTC)."""
    return await meters.usage(
        access.ctx.tenant_id, start=start, end=end, resource=resource, granularity=granularity
    )

"""``/api/v1/usage``: the caller's tenant's metered usage; and the limits' HTTP glue.

The access dependency's limits hook calls ``limits.admit(ctx, route_class_of(request),
hold_slot=True)`` and keeps the :class:`~tenantry.tenancy.limits.service.Admission` with
:func:`remember`. :func:`limits_middleware` then copies its ``RateLimit-*`` headers onto the
response (errors included) and gives the in-flight slot back once the route has answered. A
refused request carries its own headers on the 429 problem. A route joins the stricter
authoring class with ``openapi_extra=AUTHORING``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request, Response

from tenantry.api.caller import CallerDep
from tenantry.api.deps import ServicesDep
from tenantry.api.problems import problem_responses
from tenantry.tenancy.access.permissions import Action
from tenantry.tenancy.limits.meters import Meters
from tenantry.tenancy.limits.schemas import Granularity, RouteClass, UsageReport
from tenantry.tenancy.limits.service import Admission
from tenantry.tenancy.registry.database import session_factory

STATE_KEY: Final = "rate_limit"
ROUTE_CLASS_KEY: Final = "x-tenantry-route-class"
AUTHORING: Final = {ROUTE_CLASS_KEY: RouteClass.AUTHORING.value}

router = APIRouter(
    prefix="/api/v1/usage",
    tags=["usage"],
    responses=problem_responses(400, 401, 403, 404, 429, 503),
)


def get_meters(services: ServicesDep) -> Meters:
    """The meters on the control database (reads only: no limits source needed)."""
    return Meters(session_factory(services.engine))


MetersDep = Annotated[Meters, Depends(get_meters)]


@router.get("")
async def get_usage(
    caller: CallerDep,
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
    caller.require(Action.READ)
    return await meters.usage(
        caller.ctx.tenant_id, start=start, end=end, resource=resource, granularity=granularity
    )


def route_class_of(request: Request) -> RouteClass:
    """The rate-limit class of the matched route (``openapi_extra=AUTHORING`` or default)."""
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    return RouteClass(extra.get(ROUTE_CLASS_KEY, RouteClass.DEFAULT.value))


def remember(request: Request, admission: Admission) -> None:
    """Keep the admission of this request for :func:`limits_middleware`."""
    setattr(request.state, STATE_KEY, admission)


async def limits_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Send the admitted request's ``RateLimit-*`` headers with whatever the route answered,
    and free its in-flight slot when it has answered (counted until the response starts)."""
    try:
        response = await call_next(request)
    finally:
        admission = getattr(request.state, STATE_KEY, None)
        if isinstance(admission, Admission):
            admission.release()
    if isinstance(admission, Admission):
        for name, value in admission.headers.items():
            response.headers.setdefault(name, value)
    return response

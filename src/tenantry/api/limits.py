"""The limits' HTTP glue: admission state per request, route classes, ``RateLimit-*`` headers.

The access dependency's limits hook calls ``limits.admit(ctx, route_class_of(request),
hold_slot=True)`` and keeps the :class:`~tenantry.tenancy.limits.service.Admission` with
:func:`remember`. :func:`limits_middleware` then copies its ``RateLimit-*`` headers onto the
response (errors included) and gives the in-flight slot back once the route has answered. A
refused request carries its own headers on the 429 problem. A route joins the stricter
authoring class with ``openapi_extra=AUTHORING``.

(Kept apart from the routes: ``api.caller`` imports this module, and routes import the caller.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from fastapi import Request, Response

from tenantry.tenancy.limits.schemas import RouteClass
from tenantry.tenancy.limits.service import Admission

STATE_KEY: Final = "rate_limit"
ROUTE_CLASS_KEY: Final = "x-tenantry-route-class"
AUTHORING: Final = {ROUTE_CLASS_KEY: RouteClass.AUTHORING.value}


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

"""The limits' HTTP glue: admission state per request, route classes, ``RateLimit-*`` headers.

The access dependency's limits hook calls ``limits.admit(ctx, route_class_of(request),
hold_slot=True)`` and keeps the :class:`~tenantry.tenancy.limits.service.Admission` with
:func:`remember`. :class:`LimitsMiddleware` (plain ASGI) then adds its ``RateLimit-*`` headers
to the response (errors included) and gives the in-flight slot back once the response starts
(or the app fails). A refused request carries its own headers on the 429 problem. A route
joins the stricter authoring class with ``openapi_extra=AUTHORING``.

(Kept apart from the routes: ``api.caller`` imports this module, and routes import the caller.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.tenancy.limits.schemas import RouteClass
from tenantry.tenancy.limits.service import Admission, LimitsService

STATE_KEY: Final = "rate_limit"
ROUTE_CLASS_KEY: Final = "x-tenantry-route-class"
AUTHORING: Final = {ROUTE_CLASS_KEY: RouteClass.AUTHORING.value}


def route_class_of(request: Request) -> RouteClass:
    """The rate-limit class of the matched route (``openapi_extra=AUTHORING`` or default)."""
    return class_of_route(request.scope.get("route"))


def class_of_route(route: object) -> RouteClass:
    """The rate-limit class of ``route`` (``openapi_extra=AUTHORING`` or default)."""
    extra = getattr(route, "openapi_extra", None) or {}
    return RouteClass(extra.get(ROUTE_CLASS_KEY, RouteClass.DEFAULT.value))


async def admit_access_act(request: Request, tenant_id: str) -> None:
    """Take ``tenant_id``'s authoring rate for an act on its access (issuing a token), once the
    caller's right to act for it was checked; the answer carries its ``RateLimit-*`` headers."""
    limits: LimitsService = request.app.state.services.limits
    remember(request, await limits.admit_tenant(tenant_id, RouteClass.AUTHORING))


def remember(request: Request, admission: Admission) -> None:
    """Keep the admission of this request for :class:`LimitsMiddleware`."""
    setattr(request.state, STATE_KEY, admission)


class LimitsMiddleware:
    """Send the admitted request's ``RateLimit-*`` headers with whatever the route answered,
    and free its in-flight slot when the response starts (counted until then)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            admission = _admission(scope)
            if message["type"] == "http.response.start" and admission is not None:
                admission.release()
                message["headers"] = _with_defaults(message.get("headers", ()), admission.headers)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            admission = _admission(scope)
            if admission is not None:
                admission.release()


def _with_defaults(
    raw: Iterable[tuple[bytes, bytes]], defaults: Mapping[str, str]
) -> list[tuple[bytes, bytes]]:
    """``raw`` ASGI headers plus each of ``defaults`` that ``raw`` does not name."""
    headers = list(raw)
    present = {name.lower() for name, _ in headers}
    for name, value in defaults.items():
        key = name.lower().encode("latin-1")
        if key not in present:
            headers.append((key, value.encode("latin-1")))
    return headers


def admission_of(scope: Scope) -> Admission | None:
    """The admission of the request of ``scope``, if it was admitted."""
    return _admission(scope)


def _admission(scope: Scope) -> Admission | None:
    found = scope.get("state", {}).get(STATE_KEY)
    return found if isinstance(found, Admission) else None

"""Refusing a tenant that is over its rate limit before routing, for the price of a lookup.

A noisy tenant must not slow the others down, and a refusal that runs the whole framework
(routing, dependency solving, the access dependency) costs the shared process about as much as
an admitted request. While the limiter's refusal of some tenant still holds
(``limits.refusals``, see ``tenancy.limits.refusals``), :class:`EarlyRefusal` answers that
tenant's requests itself: the credential is verified as usual (a token's repeat verification is
a memo lookup), ``X-Tenant-ID`` / ``X-Team-ID`` / ``X-Env-ID`` select among its grants, the
request must be for a tenant route (one that takes the access dependency, matched as the
router matches it), and the refusal is the same 429 problem, with the same ``Retry-After`` and
``RateLimit-*`` headers, that the access dependency would raise.

Anything else goes the normal way, which then answers exactly as before: no refusal
remembered (the fast path: one truth test), an ``X-Tenant-ID`` naming a tenant with none
(one lookup), a missing, bad or platform-admin credential
(platform admins' acts are audited there), a selection the grants refuse (audited there), a
path that is not a tenant route (health, docs, tokens, unknown paths: 404 stays 404).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from tenantry.api import caller, doors, problems
from tenantry.api import limits as limits_http
from tenantry.core.errors import TenantryError
from tenantry.tenancy.access import resolution
from tenantry.tenancy.access.resolution import TENANT_HEADER
from tenantry.tenancy.access.schemas import PrincipalKind


class EarlyRefusal:
    """ASGI middleware: the refusal of a remembered-refused tenant's request, before routing."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[APIRoute]) -> None:
        self.app, self.routes = app, tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = await _refusal(scope, self.routes)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _refusal(scope: Scope, routes: Sequence[APIRoute]) -> Response | None:
    wired = caller.wired_of(scope["app"])
    refusals = wired.limits.refusals
    if not refusals:
        return None
    request = Request(scope)
    selected = request.headers.get(TENANT_HEADER)
    if selected is not None and not refusals.names(selected):
        return None  # another tenant's request: not a cost it pays for the noisy one
    try:
        principal = await doors.authenticate(request, wired.access, caller.bearer_of(request))
        if principal.kind is PrincipalKind.PLATFORM_ADMIN:
            return None
        found = resolution.resolve(principal, caller.selection_of(request))
    except TenantryError:
        return None  # the normal way reports it (and audits what it must)
    route = _tenant_route(routes, scope)
    if route is None:
        return None
    refused = refusals.refusal(found.ctx.tenant_id, limits_http.class_of_route(route))
    return None if refused is None else problems.error_response(request, refused)


def tenant_routes(*routers: APIRouter) -> tuple[APIRoute, ...]:
    """The routes of ``routers`` that take the access dependency, in their order."""
    found = (route for router in routers for route in router.routes)
    return tuple(r for r in found if isinstance(r, APIRoute) and caller.admits(r.dependant))


def _tenant_route(routes: Sequence[APIRoute], scope: Scope) -> APIRoute | None:
    """The tenant route ``scope`` is for, or None. Tenant routes share no path with the other
    routes (their prefixes differ), so the first full match is the route the router picks."""
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None

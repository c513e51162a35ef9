"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from tenantry import __version__, bootstrap
from tenantry.api import (
    access,
    audited,
    caller,
    conversations,
    doors,
    early,
    fencing,
    limits,
    middleware,
    openapi,
    problems,
    requestlog,
)
from tenantry.api.routes import (
    audit,
    channels,
    chat,
    events,
    health,
    hooks,
    lifecycle,
    objects,
    plans,
    policies,
    search,
    secrets,
    sessions,
    state,
    tenants,
    tokens,
    usage,
    webhooks,
)
from tenantry.bootstrap import Services
from tenantry.core.settings import Settings


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """The API app. Given ``services``, it uses them as they are (their owner closes them);
    otherwise it opens its own for the app's lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
            yield
            return
        async with bootstrap.services(settings) as opened:
            app.state.services = opened
            yield

    app = FastAPIOffline(  # /docs and /redoc with their assets from the package, not a CDN
        title="Tenantry",
        version=__version__,
        summary="The tenancy control plane and tenant-scoped runtime.",
        lifespan=lifespan,
        # No redirect to the path without its trailing slash: Starlette builds that Location
        # from the Host header, which the client controls. Such a path is a 404 that says why.
        redirect_slashes=False,
        swagger_ui_parameters={"validatorUrl": None},  # its badge would call out to the web
    )
    if services is not None:  # usable without running the lifespan (e.g. ASGI test transports)
        app.state.services = services
    problems.install(app)
    routers = [
        m.router
        for m in (
            tenants,
            plans,
            lifecycle,
            tokens,
            sessions,
            state,
            secrets,
            objects,
            search,
            usage,
            channels,
            policies,  # policies (issue 13)
            audit,
            webhooks,  # issue 13
        )
    ]
    routers.append(events.router)  # tenancy event schemas (issue 13)
    # every write's audit record, appended before its response goes (issue 13)
    app.add_middleware(audited.AuditWrites)
    # a long-poll's connection slot and a tenant request's fence hold, released at the end
    app.add_middleware(fencing.ReleasedAtEnd, key=conversations.SLOT_KEY)
    app.add_middleware(fencing.ReleasedAtEnd, key=fencing.STATE_KEY)
    app.add_middleware(limits.LimitsMiddleware)
    # A tenant whose rate-limit refusal still holds is refused here, before routing.
    app.add_middleware(early.EarlyRefusal, routes=early.tenant_routes(*routers))
    # Every request is limited by its credential, else its client address, before routing.
    app.add_middleware(doors.DoorLimit)
    app.add_middleware(requestlog.RequestLog)  # one line per request, refusals included
    app.add_middleware(middleware.CorrelationId)  # outermost: every response carries the id
    for public in (health.router, chat.router):
        access.declare(public)
        app.include_router(public)
    access.declare(hooks.router)  # signed by providers: no bearer, no tenant headers
    openapi.document(hooks.router)
    app.include_router(hooks.router)
    for router in routers:
        access.declare(router)
        caller.document_selection(router)
        openapi.document(router)
        app.include_router(router)
    openapi.install(app)
    return app

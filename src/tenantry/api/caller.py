"""Who calls a route, and the dependencies that check what it may do.

A tenant route takes one access-proof dependency naming its action: :data:`Reader`,
:data:`Writer`, :data:`SecretsReader`, :data:`SecretsWriter` or :data:`TenantAdmin`. Each
verifies the bearer token or API key (read by :func:`bearer_of`), lets ``X-Tenant-ID`` /
``X-Team-ID`` / ``X-Env-ID`` select among the grants it carries (the access service audits
refused attempts and platform-admin acts), takes the tenant's limits (a rate-limit slot and an
in-flight slot), checks the role, takes the fence's hold (:mod:`tenantry.api.fencing`), opens
the scope bound to the team (refusing suspended and unknown tenants, unknown environments and
teams), and only then claims an ``Idempotency-Key`` (a replay answers here). The proof it
returns (:mod:`tenantry.api.proofs`) is the route's only way to the tenant's stores.

Admin routes take :data:`PlatformAdminDep` instead; routes that act on the access system itself
(tokens) take :data:`PrincipalDep` and :data:`SelectionDep` and let the access service decide.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Final, Protocol, TypeVar

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from tenantry.api import audited, doors, fencing, idempotency
from tenantry.api import limits as limits_http
from tenantry.api.proofs import (
    AdminAccess,
    ReadAccess,
    SecretsReadAccess,
    SecretsWriteAccess,
    TenantAccess,
    VisitorMintAccess,
    WriteAccess,
)
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.tenancy.access.errors import (
    EnvMismatch,
    PlatformAdminRequired,
    RoleForbidden,
    TeamMismatch,
    TenantMismatch,
)
from tenantry.tenancy.access.permissions import require
from tenantry.tenancy.access.resolution import (
    ENV_HEADER,
    TEAM_HEADER,
    TENANT_HEADER,
    Resolved,
    Selection,
    one_header,
)
from tenantry.tenancy.access.schemas import Principal, PrincipalKind
from tenantry.tenancy.access.service import AccessService
from tenantry.tenancy.lifecycle.fence.watch import FenceWatch
from tenantry.tenancy.limits.service import LimitsService
from tenantry.tenancy.scopes import Release, Scopes

__all__ = [
    "TENANT_ACCESS",
    "AccessDep",
    "PlatformAdminDep",
    "PrincipalDep",
    "Reader",
    "ResolvedDep",
    "RoleForbidden",
    "SecretsReader",
    "SecretsWriter",
    "SelectionDep",
    "TenantAdmin",
    "VisitorMinter",
    "Writer",
    "access_service",
    "admit",
    "admits",
    "authenticated",
    "bearer_of",
    "correlation_id",
    "platform_admin",
    "reader",
    "resolved",
    "route_action",
    "secrets_reader",
    "secrets_writer",
    "selected",
    "tenant_access",
    "tenant_admin",
    "visitor_minter",
    "wired_of",
    "writer",
]

_Proof = TypeVar("_Proof", bound=TenantAccess)
_ACTION_CHARS: Final = 128  # the audit column's width
_SELECTION_BY_RAW_NAME: Final = {
    header.lower().encode("latin-1"): header for header in (TENANT_HEADER, TEAM_HEADER, ENV_HEADER)
}
_bearer = HTTPBearer(
    auto_error=False,
    description="A signed access token (`tenantry token issue`), an API key (`tnt_...`) "
    "or the platform admin token (TENANTRY_ADMIN_TOKEN).",
)


class _Wired(Protocol):
    """What these dependencies use of the process's services (``bootstrap.Services``)."""

    @property
    def access(self) -> AccessService: ...

    @property
    def scopes(self) -> Scopes: ...

    @property
    def limits(self) -> LimitsService: ...

    @property
    def fence(self) -> FenceWatch: ...


def _wired(request: Request) -> _Wired:
    return wired_of(request.app)


def wired_of(app: Any) -> _Wired:
    """The process's services, as the API app holds them."""
    services: _Wired = app.state.services
    return services


def access_service(request: Request) -> AccessService:
    return _wired(request).access


AccessDep = Annotated[AccessService, Depends(access_service)]


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified principal behind ``Authorization: Bearer`` (401 otherwise)."""
    given = credentials.credentials if credentials is not None else None
    return await doors.authenticate(request, _wired(request).access, given)


def bearer_of(request: Request) -> str | None:
    """The credential of ``Authorization: Bearer ...`` (None without one), as :data:`_bearer`
    reads it, for the dependencies that read it themselves."""
    scheme, credential = get_authorization_scheme_param(request.headers.get("Authorization"))
    return credential if scheme.lower() == "bearer" and credential else None


PrincipalDep = Annotated[Principal, Depends(authenticated)]


async def platform_admin(principal: PrincipalDep) -> Principal:
    """Admit platform admins only: a platform-admin token or ``TENANTRY_ADMIN_TOKEN``."""
    if principal.kind is not PrincipalKind.PLATFORM_ADMIN:
        raise PlatformAdminRequired("this route is for platform admins")
    return principal


PlatformAdminDep = Annotated[Principal, Depends(platform_admin)]


def selection_of(request: Request) -> Selection:
    """What ``X-Tenant-ID``, ``X-Team-ID`` and ``X-Env-ID`` select (unchecked as yet)."""
    sent: dict[str, list[str]] = {TENANT_HEADER: [], TEAM_HEADER: [], ENV_HEADER: []}
    for name, value in request.scope["headers"]:  # one pass (ASGI names are lower case)
        header = _SELECTION_BY_RAW_NAME.get(name)
        if header is not None:
            sent[header].append(value.decode("latin-1"))
    return Selection(
        tenant=one_header(TENANT_HEADER, sent[TENANT_HEADER]),
        team=one_header(TEAM_HEADER, sent[TEAM_HEADER]),
        env=one_header(ENV_HEADER, sent[ENV_HEADER]),
    )


async def selected(request: Request) -> Selection:
    """:func:`selection_of` as a dependency (documented by :func:`document_selection`)."""
    return selection_of(request)


SelectionDep = Annotated[Selection, Depends(selected)]


async def resolved(request: Request, principal: PrincipalDep) -> Resolved:
    """The tenant context and role the headers select among the principal's grants."""
    return await _resolve(_wired(request), request, principal)


ResolvedDep = Annotated[Resolved, Depends(resolved)]


async def _resolve(wired: _Wired, request: Request, principal: Principal) -> Resolved:
    try:
        found = await wired.access.resolve(
            principal,
            selection_of(request),
            correlation_id=correlation_id(),
            action=route_action(request),
        )
    except (TenantMismatch, TeamMismatch, EnvMismatch):
        audited.refusal_recorded(request.scope)  # the access service recorded it
        raise
    audited.resolved(request.scope, found.ctx)
    return found


async def admit(request: Request, ctx: TenantCtx) -> None:
    """Take the tenant's rate limit and an in-flight slot for this request (429 when not)."""
    await _admit(_wired(request), request, ctx)


async def _admit(wired: _Wired, request: Request, ctx: TenantCtx) -> None:
    route_class = limits_http.route_class_of(request)
    limits_http.remember(request, await wired.limits.admit(ctx, route_class, hold_slot=True))


async def _checked(
    request: Request, proof: type[_Proof], *, writing: bool = False
) -> tuple[_Proof, Release | None]:
    """Verify the credential, resolve the tenant context, limit, check the role, open the
    scope, then claim the request's ``Idempotency-Key`` (or answer its replay).

    One dependency doing the steps in turn, not a chain of them: this runs on every tenant
    request, and each dependency and declared header costs FastAPI more than the step itself.
    The bearer credential and the selection headers are documented by
    :func:`document_selection` instead.
    """
    wired = _wired(request)
    principal = await doors.authenticate(request, wired.access, bearer_of(request))
    found = await _resolve(wired, request, principal)
    await _admit(wired, request, found.ctx)
    require(found.role, proof.action, tenant=found.ctx.tenant_id)
    # Held before the scope reads the tenant's state: a suspend's drain waits for this request.
    fencing.remember(request, await wired.fence.admit(found.ctx.tenant_id))
    release: Release | None = None
    if writing:
        scope, release = await wired.scopes.open_writing(found.ctx)
    else:
        scope = await wired.scopes.open(found.ctx)
    access = proof(principal, found.ctx, found.role, scope)
    try:
        await idempotency.claim(request, access)
    except BaseException:
        if release is not None:
            await release()
        raise
    return access, release


async def reader(request: Request) -> ReadAccess:
    """Admit roles that may read (:attr:`Action.READ`)."""
    return (await _checked(request, ReadAccess))[0]


async def writer(request: Request) -> AsyncIterator[WriteAccess]:
    """Admit roles that may write (:attr:`Action.WRITE`); a migrating tenant's write holds
    its write gate until the route is done (``lifecycle.freeze``)."""
    access, release = await _checked(request, WriteAccess, writing=True)
    if release is None:
        yield access
        return
    try:
        yield access
    finally:
        await release()


async def secrets_reader(request: Request) -> SecretsReadAccess:
    """Admit roles that may read secret values (:attr:`Action.SECRETS_READ`)."""
    return (await _checked(request, SecretsReadAccess))[0]


async def secrets_writer(request: Request) -> SecretsWriteAccess:
    """Admit roles that may change secrets (:attr:`Action.SECRETS_WRITE`)."""
    return (await _checked(request, SecretsWriteAccess))[0]


async def tenant_admin(request: Request) -> AdminAccess:
    """Admit the tenant's admins (:attr:`Action.ADMIN`)."""
    return (await _checked(request, AdminAccess))[0]


async def visitor_minter(request: Request) -> VisitorMintAccess:
    """Admit the team's admins, who mint visitor credentials (:attr:`Action.MINT_VISITORS`)."""
    return (await _checked(request, VisitorMintAccess))[0]


Reader = Annotated[ReadAccess, Depends(reader)]
Writer = Annotated[WriteAccess, Depends(writer)]
SecretsReader = Annotated[SecretsReadAccess, Depends(secrets_reader)]
SecretsWriter = Annotated[SecretsWriteAccess, Depends(secrets_writer)]
TenantAdmin = Annotated[AdminAccess, Depends(tenant_admin)]
VisitorMinter = Annotated[VisitorMintAccess, Depends(visitor_minter)]
# The tenant-access dependencies and the proof each returns.
TENANT_ACCESS: Final[dict[Callable[..., Any], type[TenantAccess]]] = {
    reader: ReadAccess,
    writer: WriteAccess,
    secrets_reader: SecretsReadAccess,
    secrets_writer: SecretsWriteAccess,
    tenant_admin: AdminAccess,
    visitor_minter: VisitorMintAccess,
}


def correlation_id() -> str | None:
    """The request's correlation id (as returned in ``X-Correlation-ID``), for audit records."""
    # The correlation middleware binds the request's id for logging; the audit record reuses
    # it so a refused attempt can be matched to the response the client got.
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return value if isinstance(value, str) else None


def route_action(request: Request) -> str:
    """The request as audit records name it: ``METHOD /route/template``."""
    route = request.scope.get("route")
    path = getattr(route, "path", None) or request.url.path
    return f"{request.method} {path}"[:_ACTION_CHARS]


_SELECTION_HEADERS: Final = (
    (TENANT_HEADER, ids.IdKind.TENANT, "The tenant to act for (among the credential's grants)."),
    (TEAM_HEADER, ids.IdKind.TEAM, "The team to act for."),
    (ENV_HEADER, ids.IdKind.ENV, "The environment; default prod."),
)
_SELECTING: Final = {selected, resolved, *TENANT_ACCESS}
_OTHER_ACCESS: Final[set[Callable[..., Any]]] = set()  # e.g. the webchat conversations'


def tenant_access(dependency: Callable[..., Any]) -> None:
    """Count ``dependency`` among the tenant-access dependencies of another module (one that
    reads the selection headers and takes the tenant's limits, as those here do)."""
    _OTHER_ACCESS.add(dependency)
    _SELECTING.add(dependency)


# the tenant-access dependencies read the bearer credential themselves: FastAPI would not
# document it
_SECURITY: Final[dict[str, Any]] = {"security": [{_bearer.scheme_name: []}]}
_SELECTION_PARAMETERS: Final = [
    {
        "name": name,
        "in": "header",
        "required": False,
        "description": text,
        "schema": {
            "type": "string",
            "pattern": ids.pattern(kind),
            "maxLength": ids.max_length(kind),
        },
    }
    for name, kind, text in _SELECTION_HEADERS
]


def document_selection(router: APIRouter) -> None:
    """Document the selection headers and the bearer credential on every route of ``router``
    that reads them (its dependencies include :func:`selected`, :func:`resolved` or a
    tenant-access dependency); call it before the router is included. Documenting twice changes
    nothing."""
    for route in router.routes:
        if isinstance(route, APIRoute) and _selects(route.dependant):
            extra = route.openapi_extra or {}
            given = extra.get("parameters", [])
            named = {parameter["name"] for parameter in given}
            added = [p for p in _SELECTION_PARAMETERS if p["name"] not in named]
            route.openapi_extra = {**extra, "parameters": [*given, *added], **_SECURITY}


def _selects(dependant: Dependant) -> bool:
    return dependant.call in _SELECTING or any(_selects(d) for d in dependant.dependencies)


def admits(dependant: Dependant) -> bool:
    """Whether a route with this dependant goes through a tenant-access dependency (so the
    tenant's limits are taken for it)."""
    call = dependant.call
    return (
        call in TENANT_ACCESS
        or call in _OTHER_ACCESS
        or any(admits(d) for d in dependant.dependencies)
    )

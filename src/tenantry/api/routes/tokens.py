"""``/api/v1/tokens`` and ``/api/v1/api-keys``: access for tenants, administered over HTTP.

Tokens are issued by platform admins (any tenant, or a platform-admin token) and by tenant
admins (their own tenant only); the tenant is the body's ``tenant`` or the one ``X-Tenant-ID``
selects (optional for a credential of one tenant; when both are sent they must agree, and a
header the credential may not select is 403 and audited, as on every route). A token granting
the selected tenant is revoked by its id (``jti``) by the tenant's admins or a platform admin.
API keys belong to the tenant ``X-Tenant-ID`` selects and are managed by its tenant admins (or
an audited platform admin); a key's secret is in the creation answer only.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tenantry.api.access import AccessKind, declares
from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import (
    AccessDep,
    PrincipalDep,
    ResolvedDep,
    SelectionDep,
    admit,
    correlation_id,
    route_action,
)
from tenantry.api.limits import AUTHORING, admit_access_act
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.paths import ApiKeyIdPath, TokenIdPath
from tenantry.tenancy.access.permissions import Action, require
from tenantry.tenancy.access.resolution import Resolved
from tenantry.tenancy.access.schemas import (
    ApiKeyInfo,
    CreatedApiKey,
    IssuedToken,
    PrincipalKind,
    Role,
)
from tenantry.tenancy.limits.schemas import MAX_TOKEN_TTL

router = APIRouter(
    prefix="/api/v1",
    tags=["access"],
    route_class=StrictJsonRoute,
    responses=problem_responses(400, 401, 403, 503),
)


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal: str = Field(description="Who the token is for (user or service id).")
    tenant: str | None = Field(
        default=None, description="The tenant; optional for a tenant admin of one tenant."
    )
    team: str | None = Field(default=None, description="Narrow the grant to one team.")
    role: Role
    ttl_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TOKEN_TTL,
        description="Lifetime in seconds; default 3600, or less when a cap is shorter. At most "
        "the max_token_ttl of each granted tenant's plan (24 h by default) and the remaining "
        "lifetime of the token issuing it: longer is refused (400 token.ttl_invalid).",
    )
    kind: PrincipalKind = PrincipalKind.USER


class ApiKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="A label for people (1-64 letters, digits, ' ._-').")
    role: Role
    team: str | None = Field(default=None, description="Narrow the key to one team.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyInfo]


@declares(AccessKind.TENANT_ROLE, Action.ADMIN)
async def tenant_admin(request: Request, found: ResolvedDep, access: AccessDep) -> Resolved:
    """The selected tenant, if the caller administers it and it may be accessed now."""
    require(found.role, Action.ADMIN, tenant=found.ctx.tenant_id)
    await admit(request, found.ctx)
    await access.check_open(found.ctx.tenant_id, team=found.ctx.team_id)
    return found


TenantAdminDep = Annotated[Resolved, Depends(tenant_admin)]


@router.post("/tokens", status_code=201, responses=problem_responses(404, 409, 429))
async def issue_token(
    request: Request,
    body: TokenRequest,
    actor: PrincipalDep,
    selection: SelectionDep,
    access: AccessDep,
) -> IssuedToken:
    """Issue a signed token; the answer holds it once (it is not stored).

    ``X-Tenant-ID`` / ``X-Team-ID`` are checked as on every route (403 and audited when the
    credential may not select them) and must agree with the body's ``tenant``."""
    return await access.issue_token_as(
        actor,
        body.principal,
        tenant=body.tenant,
        team=body.team,
        role=body.role,
        ttl=None if body.ttl_seconds is None else timedelta(seconds=body.ttl_seconds),
        kind=body.kind,
        selection=selection,
        correlation_id=correlation_id(),
        action=route_action(request),
        admit=partial(admit_access_act, request),
    )


@router.delete(
    "/tokens/{jti}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(404),
    openapi_extra=AUTHORING,
)
async def revoke_token(
    jti: TokenIdPath, admin: TenantAdminDep, actor: PrincipalDep, access: AccessDep
) -> None:
    """Revoke a token granting the selected tenant: refused by every API process within a
    second (revoking it again changes nothing); a token of another tenant is 404."""
    await access.revoke_token(
        jti,
        tenant=admin.ctx.tenant_id,
        actor=actor.id,
        correlation_id=admin.ctx.correlation_id,
    )


@router.post(
    "/api-keys", status_code=201, responses=problem_responses(404), openapi_extra=AUTHORING
)
async def create_api_key(
    body: ApiKeyRequest, admin: TenantAdminDep, actor: PrincipalDep, access: AccessDep
) -> CreatedApiKey:
    """Create a service API key; ``secret`` is shown in this answer only."""
    return await access.create_api_key(
        admin.ctx.tenant_id,
        team=body.team,
        role=body.role,
        name=body.name,
        actor=actor.id,
        correlation_id=admin.ctx.correlation_id,
    )


@router.get("/api-keys")
async def list_api_keys(
    admin: TenantAdminDep, access: AccessDep, include_revoked: bool = False
) -> ApiKeyList:
    """The tenant's API keys (metadata, never secrets), oldest first."""
    keys = await access.list_api_keys(admin.ctx.tenant_id, include_revoked=include_revoked)
    return ApiKeyList(items=keys)


@router.delete(
    "/api-keys/{key_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(404),
    openapi_extra=AUTHORING,
)
async def revoke_api_key(
    key_id: ApiKeyIdPath, admin: TenantAdminDep, actor: PrincipalDep, access: AccessDep
) -> None:
    """Revoke a key at once (revoking it again changes nothing); another tenant's key is 404."""
    await access.revoke_api_key(
        admin.ctx.tenant_id, key_id, actor=actor.id, correlation_id=admin.ctx.correlation_id
    )

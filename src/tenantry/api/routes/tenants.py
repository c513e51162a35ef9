"""``/api/v1/tenants``: the registry, for platform admins (a platform-admin token issued with
``tenantry token issue --role platform-admin``, or ``TENANTRY_ADMIN_TOKEN``).

``POST`` creates one tenant and ``PUT`` replaces it, exactly as applying a bundle holding it
would (same validation, plans, generation and conditions); such a tenant's source is ``api``,
and ``apply --prune`` leaves it alone.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel

from tenantry.api.audited import AttributionDep
from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import PlatformAdminDep, platform_admin
from tenantry.api.deps import ServicesDep
from tenantry.api.idempotency import HEADER, REPLAYED
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.paths import TenantIdPath
from tenantry.api.schemas.tenants import NewTenant, TenantReplacement
from tenantry.tenancy.idempotency.service import (
    HEADER_LIMIT,
    HEADER_PATTERN,
    fingerprint,
    request_digest,
)
from tenantry.tenancy.registry.schemas import TenantDetail, TenantSummary

PREFIX: Final = "/api/v1/tenants"
MAX_BODY: Final = 1024 * 1024  # a tenant with its teams, channels and flows

router = APIRouter(
    prefix=PREFIX,
    tags=["tenants"],
    route_class=StrictJsonRoute,
    dependencies=[Depends(platform_admin)],
    responses=problem_responses(401, 403, 503),
)


class TenantList(BaseModel):
    items: list[TenantSummary]


async def creation_request(
    request: Request,
    admin: PlatformAdminDep,
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="A unique key (e.g. a UUID) making this POST safe to retry: the same "
            "request under the same key, by the same credential, is answered with the tenant "
            "it created (`Idempotent-Replayed: true`); another request under it is 422.",
            json_schema_extra={
                "pattern": HEADER_PATTERN,
                "minLength": 1,
                "maxLength": HEADER_LIMIT,
            },
        ),
    ] = None,
) -> str | None:
    """The request's digest under its ``Idempotency-Key`` (None without one), taken after the
    platform-admin check."""
    if key is None:
        return None
    sent = fingerprint(request.method, request.url.path, request.url.query, await request.body())
    return request_digest(principal=admin.id, role=admin.kind.value, key=key, fingerprint=sent)


CreationRequest = Annotated[str | None, Depends(creation_request)]


@router.get("")
async def list_tenants(services: ServicesDep) -> TenantList:
    """Every tenant, ordered by id."""
    return TenantList(items=await services.registry.list())


@router.post(
    "",
    status_code=201,
    responses=problem_responses(400, 409, 422),
    max_body_size=MAX_BODY,
)
async def create_tenant(
    body: NewTenant,
    services: ServicesDep,
    digest: CreationRequest,
    response: Response,
    audit: AttributionDep,
) -> TenantDetail:
    """Create a tenant, pending until the controller provisions it. 409 ``tenant.exists``
    when the id is taken, ``tenant.tombstoned`` when it was a deleted tenant's; 400
    ``plan.unknown`` (naming the defined plans) or ``request.invalid``."""
    created = await services.registry.create(body.id, body.spec(), request=digest, audit=audit)
    response.headers["Location"] = f"{PREFIX}/{created.tenant.id}"
    if created.replayed:
        response.headers[REPLAYED] = "true"
    return created.tenant


@router.get("/{tenant_id}", responses=problem_responses(400, 404))
async def get_tenant(tenant_id: TenantIdPath, services: ServicesDep) -> TenantDetail:
    """One tenant with its environments, teams, channels, flows and conditions."""
    return await services.registry.get(tenant_id)


@router.put("/{tenant_id}", responses=problem_responses(400, 404, 409), max_body_size=MAX_BODY)
async def replace_tenant(
    tenant_id: TenantIdPath, body: TenantReplacement, services: ServicesDep, audit: AttributionDep
) -> TenantDetail:
    """Replace a tenant's spec (its generation moves only if the spec changed); 404 when
    there is none, 409 ``tenant.tombstoned`` when it was deleted."""
    return await services.registry.replace(tenant_id, body.spec_of(tenant_id), audit=audit)

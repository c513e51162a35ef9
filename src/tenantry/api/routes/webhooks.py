"""``/api/v1/webhooks``: webhook endpoints, their delivery log, replays and secret rotation.

A tenant's admins manage the tenant's endpoints; a platform admin sending no ``X-Tenant-ID``
manages the platform-wide ones (which receive every tenant's events). Another owner's endpoint
is 404, like a missing one. See docs/webhooks.md.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request, Response, status

from tenantry import bootstrap
from tenantry.api import caller, doors, idempotency
from tenantry.api.access import AccessKind, declares
from tenantry.api.deps import ServicesDep
from tenantry.api.limits import AUTHORING
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.paths import documented
from tenantry.api.schemas.webhooks import (
    DeliveryList,
    DeliveryOut,
    EndpointAdded,
    EndpointIn,
    EndpointList,
    EndpointOut,
    ReplayIn,
    SecretRotated,
)
from tenantry.tenancy.access.permissions import Action
from tenantry.tenancy.access.schemas import PrincipalKind
from tenantry.tenancy.webhooks.schemas import ENDPOINT_ID_PATTERN, Owner, Status

MAX_BODY: Final = 16 * 1024

router = APIRouter(
    prefix="/api/v1/webhooks",
    tags=["webhooks"],
    route_class=idempotency.IdempotentRoute,  # strict JSON bodies, as every router
    responses=problem_responses(400, 401, 403, 404, 429, 503),
)
WebhookIdPath = Annotated[
    str,
    documented(
        "The endpoint's id: 32 lowercase hex digits.",
        pattern=ENDPOINT_ID_PATTERN,
        minLength=32,
        maxLength=32,
    ),
]


@declares(AccessKind.TENANT_ROLE, Action.ADMIN)
async def webhook_owner(request: Request) -> Owner:
    """The platform's endpoints for a platform admin selecting no tenant; otherwise the
    selected tenant's, for its admins only (:func:`caller.tenant_admin`'s checks)."""
    if caller.selection_of(request).tenant is None:
        wired = caller.wired_of(request.app)
        principal = await doors.authenticate(request, wired.access, caller.bearer_of(request))
        if principal.kind is PrincipalKind.PLATFORM_ADMIN:
            return Owner(None, principal.id)
    access = await caller.tenant_admin(request)
    return Owner(access.ctx.tenant_id, access.principal.id)


caller.tenant_access(webhook_owner)
OwnerDep = Annotated[Owner, Depends(webhook_owner)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add an endpoint",
    max_body_size=MAX_BODY,
    openapi_extra=AUTHORING,
)
async def add_endpoint(body: EndpointIn, owner: OwnerDep, services: ServicesDep) -> EndpointAdded:
    """A new endpoint and its signing secret, which this answer alone shows."""
    added = await bootstrap.webhooks(services).add(
        owner, url=body.url, filters=body.filters, description=body.description
    )
    return EndpointAdded.of(added)


@router.get("", summary="List endpoints")
async def list_endpoints(owner: OwnerDep, services: ServicesDep) -> EndpointList:
    found = await bootstrap.webhooks(services).list(owner)
    return EndpointList(items=[EndpointOut.of(endpoint) for endpoint in found])


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an endpoint",
    openapi_extra=AUTHORING,
)
async def remove_endpoint(
    webhook_id: WebhookIdPath, owner: OwnerDep, services: ServicesDep
) -> Response:
    """Remove the endpoint with its secrets and delivery log."""
    await bootstrap.webhooks(services).remove(owner, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{webhook_id}/rotate", summary="Rotate the signing secret", openapi_extra=AUTHORING)
async def rotate_secret(
    webhook_id: WebhookIdPath, owner: OwnerDep, services: ServicesDep
) -> SecretRotated:
    """A new signing secret; the previous one signs beside it until the overlap ends."""
    rotated = await bootstrap.webhooks(services).rotate(owner, webhook_id)
    return SecretRotated.of(rotated)


@router.get("/{webhook_id}/deliveries", summary="The endpoint's delivery log")
async def list_deliveries(
    webhook_id: WebhookIdPath,
    owner: OwnerDep,
    services: ServicesDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    """The newest deliveries first, with their status, attempts and latency."""
    found = await bootstrap.webhooks(services).deliveries(
        owner, webhook_id, status=status_, limit=limit
    )
    return DeliveryList(items=[DeliveryOut.of(d) for d in found])


@router.post(
    "/{webhook_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Replay one delivery or a time range",
    responses=problem_responses(410),  # the delivery's event is past the outbox's retention
    max_body_size=MAX_BODY,
    openapi_extra=AUTHORING,
)
async def replay(
    webhook_id: WebhookIdPath, body: ReplayIn, owner: OwnerDep, services: ServicesDep
) -> DeliveryList:
    """New deliveries of the same events, signed afresh when sent."""
    made = await bootstrap.webhooks(services).replay(
        owner, webhook_id, delivery_id=body.delivery_id, since=body.since, until=body.until
    )
    return DeliveryList(items=[DeliveryOut.of(d) for d in made])

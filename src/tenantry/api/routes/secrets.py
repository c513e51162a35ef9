"""``/api/v1/secrets``: the secrets of the caller's tenant, or of its team (``X-Team-ID``).

Listings carry names and metadata only; a value is returned only to roles that may read values
(``secrets.read``), never logged, and marked ``Cache-Control: no-store``. Rotating the tenant's
key (and re-wrapping every sealed record with it) is for tenant admins: it starts the tenant's
rotate-keys job, as ``POST /api/v1/tenants/{id}/rotate-keys`` does for platform admins.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Response, status

from tenantry.api import idempotency
from tenantry.api.caller import Reader, SecretsReader, SecretsWriter, TenantAdmin
from tenantry.api.deps import ServicesDep
from tenantry.api.limits import AUTHORING
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.common import STORAGE_QUOTA
from tenantry.api.schemas.paths import SecretNamePath
from tenantry.api.schemas.secrets import (
    RotationJob,
    SecretList,
    SecretSummary,
    SecretValueOut,
    SecretVersionOut,
    SecretVersions,
    SecretWrite,
)
from tenantry.tenancy.lifecycle.states import JobKind

MAX_BODY: Final = 256 * 1024

router = APIRouter(
    prefix="/api/v1/secrets",
    tags=["secrets"],
    route_class=idempotency.IdempotentRoute,
    responses=problem_responses(400, 401, 403, 503),
)


@router.get("", summary="List secret names and metadata")
async def list_secrets(access: Reader) -> SecretList:
    """The secrets of the caller's team (or of the tenant when no team is selected)."""
    found = await access.team.secrets.list()
    return SecretList(items=[SecretSummary.of(info) for info in found])


@router.post(
    "/rotate-key",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Rotate the tenant's key and re-wrap its sealed data (a job)",
    dependencies=[idempotency.IDEMPOTENT],
    responses=idempotency.RESPONSES,
    openapi_extra=AUTHORING,
)
async def rotate_key(access: TenantAdmin, services: ServicesDep) -> RotationJob:
    """Start the tenant's rotate-keys job (or answer the one already running): a new active
    key, every sealed record re-wrapped with it, then the old version retired."""
    job = await services.lifecycle.request(
        JobKind.ROTATE_KEYS,
        access.ctx.tenant_id,
        actor=access.principal.id,
        correlation_id=access.ctx.correlation_id,
    )
    return RotationJob.of(job)


@router.put(
    "/{name}",
    summary="Write a new version of a secret",
    responses=STORAGE_QUOTA,
    max_body_size=MAX_BODY,
    openapi_extra=AUTHORING,
)
async def put_secret(
    name: SecretNamePath, body: SecretWrite, access: SecretsWriter
) -> SecretVersionOut:
    """Store the value as the secret's next immutable version (1 for a new secret)."""
    info = await access.team.secrets.put(name, body.plaintext())
    return SecretVersionOut.of(info)


@router.get("/{name}", summary="Read a secret's value", responses=problem_responses(404))
async def get_secret(
    name: SecretNamePath,
    access: SecretsReader,
    response: Response,
    version: Annotated[int | None, Query(description="A version; the latest if omitted.")] = None,
) -> SecretValueOut:
    """The value (UTF-8 text, or base64 when binary); a team without the secret falls back
    to its tenant's."""
    response.headers["Cache-Control"] = "no-store"
    secret = await access.team.secrets.get(name, version=version)
    return SecretValueOut.of(secret)


@router.get(
    "/{name}/versions", summary="List a secret's versions", responses=problem_responses(404)
)
async def secret_versions(name: SecretNamePath, access: Reader) -> SecretVersions:
    found = await access.team.secrets.versions(name)
    return SecretVersions(items=[SecretVersionOut.of(info) for info in found])


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a secret (every version)",
    responses=problem_responses(404),
    openapi_extra=AUTHORING,
)
async def delete_secret(name: SecretNamePath, access: SecretsWriter) -> None:
    await access.team.secrets.delete(name)

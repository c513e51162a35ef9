"""A tenant's life over HTTP, for platform admins: each transition starts a job.

``POST /api/v1/tenants/{id}/suspend`` (``resume``, ``archive``, ``restore``, ``rotate-keys``)
and ``DELETE /api/v1/tenants/{id}`` answer 202 with the job and ``Location:
/api/v1/jobs/{job_id}``; the same transition asked again answers the job still doing it, and
one the tenant's state does not allow is 409 naming the state and the allowed ones.
``/api/v1/jobs`` reads, cancels and retries jobs (docs/lifecycle.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Response

from tenantry.api.audited import AttributionDep
from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import PlatformAdminDep, correlation_id, platform_admin
from tenantry.api.deps import ServicesDep
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.paths import JobIdPath, TenantIdPath, id_rules
from tenantry.core import ids
from tenantry.tenancy.lifecycle.jobs import Job, JobList, JobState
from tenantry.tenancy.lifecycle.states import JobKind

JOBS: Final = "/api/v1/jobs"
LIMIT: Final = 1000

router = APIRouter(
    prefix="/api/v1",
    tags=["lifecycle"],
    route_class=StrictJsonRoute,
    dependencies=[Depends(platform_admin)],
    responses=problem_responses(401, 403, 503),
)

_LOCATION: Final = {"description": "The job: GET it to follow it.", "schema": {"type": "string"}}
ACCEPTED: Final[dict[int | str, dict[str, Any]]] = {
    202: {
        "description": "The job doing it (new, or the one already doing it).",
        "headers": {"Location": _LOCATION},
    }
}


def accepted(response: Response, job: Job) -> Job:
    """``job``, with the ``Location`` a client follows it at."""
    response.headers["Location"] = f"{JOBS}/{job.id}"
    return job


_TRANSITIONS: Final = {
    JobKind.SUSPEND: "Suspend the tenant: its credentials and scopes are refused at once.",
    JobKind.RESUME: "Resume a suspended tenant.",
    JobKind.ARCHIVE: "Archive the tenant: export its data, verify it, take it out of service.",
    JobKind.RESTORE: "Restore an archived tenant from its archive; it ends active.",
    JobKind.ROTATE_KEYS: "Rotate the tenant's key-encryption key and re-wrap its sealed data.",
}


def _start(kind: JobKind) -> Callable[..., Awaitable[Job]]:
    async def start(
        tenant_id: TenantIdPath,
        admin: PlatformAdminDep,
        services: ServicesDep,
        response: Response,
        audit: AttributionDep,
    ) -> Job:
        job = await services.lifecycle.request(
            kind, tenant_id, actor=admin.id, correlation_id=correlation_id(), audit=audit
        )
        return accepted(response, job)

    start.__name__ = f"{kind.name.lower()}_tenant"
    start.__doc__ = _TRANSITIONS[kind]
    return start


for _kind, _doc in _TRANSITIONS.items():
    router.add_api_route(
        f"/tenants/{{tenant_id}}/{_kind.value}",
        _start(_kind),
        methods=["POST"],
        status_code=202,
        summary=_doc.split(":")[0].rstrip("."),
        responses={**ACCEPTED, **problem_responses(400, 404, 409)},
    )


@router.delete(
    "/tenants/{tenant_id}",
    status_code=202,
    summary="Delete the tenant",
    responses={**ACCEPTED, **problem_responses(400, 404, 409)},
)
async def delete_tenant(
    tenant_id: TenantIdPath,
    admin: PlatformAdminDep,
    services: ServicesDep,
    response: Response,
    audit: AttributionDep,
    *,
    now: Annotated[bool, Query(description="Purge now, not after the retention period.")] = False,
    force: Annotated[bool, Query(description="Delete even with prevent_deletion: true.")] = False,
) -> Job:
    """The tenant is refused at once (410) and purged after its retention period (its keys
    destroyed last); cancelling the job before the purge gives it back its previous state."""
    job = await services.lifecycle.request(
        JobKind.DELETE,
        tenant_id,
        actor=admin.id,
        correlation_id=correlation_id(),
        options={"now": now, "force": force},
        audit=audit,
    )
    return accepted(response, job)


@router.get("/jobs", summary="List jobs", responses=problem_responses(400))
async def list_jobs(
    services: ServicesDep,
    tenant: Annotated[
        str | None,
        Query(description="One tenant's jobs.", json_schema_extra=id_rules(ids.IdKind.TENANT)),
    ] = None,
    state: Annotated[JobState | None, Query(description="Jobs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=LIMIT, description="At most this many.")] = 100,
) -> JobList:
    """Jobs, newest first."""
    return JobList(items=await services.lifecycle.list(tenant_id=tenant, state=state, limit=limit))


@router.get("/jobs/{job_id}", summary="Read a job", responses=problem_responses(404))
async def get_job(job_id: JobIdPath, services: ServicesDep) -> Job:
    """The job with each step's state, attempts, start and end times and last error."""
    return await services.lifecycle.get(job_id)


@router.post("/jobs/{job_id}/cancel", summary="Cancel a job", responses=problem_responses(404, 409))
async def cancel_job(job_id: JobIdPath, services: ServicesDep, audit: AttributionDep) -> Job:
    """Cancelled at once when no worker runs it (``state: cancelled``), else at its next step
    boundary (``cancel_requested: true``); a job past its point of no return is 409."""
    return await services.lifecycle.cancel(job_id, audit=audit)


@router.post(
    "/jobs/{job_id}/retry",
    status_code=202,
    summary="Retry a failed job",
    responses={**ACCEPTED, **problem_responses(404, 409)},
)
async def retry_job(
    job_id: JobIdPath, services: ServicesDep, response: Response, audit: AttributionDep
) -> Job:
    """Queue a failed job again: it resumes at the step that failed."""
    return accepted(response, await services.lifecycle.retry(job_id, audit=audit))

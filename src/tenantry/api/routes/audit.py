"""``/api/v1/audit``: the audit log, newest first, paged and filtered (docs/audit.md).

A tenant's admins see their tenant's chain only, with other tenants' principals, credentials
and grants left out; a platform admin sees every chain (``tenant`` narrows it to one), or one
tenant's as it is when ``X-Tenant-ID`` selects it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from tenantry.api.access import AccessKind, declares
from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import AccessDep, PrincipalDep, admit, resolved, selection_of
from tenantry.api.deps import ServicesDep
from tenantry.api.paging import PageCursorInvalid, PageDep, PageOut, encode
from tenantry.api.problems import problem_responses
from tenantry.core.errors import NotFound
from tenantry.tenancy.access.permissions import Action, require
from tenantry.tenancy.access.schemas import PrincipalKind, Role
from tenantry.tenancy.audit import service as audit
from tenantry.tenancy.audit.schemas import AuditItem

router = APIRouter(
    prefix="/api/v1/audit",
    tags=["audit"],
    route_class=StrictJsonRoute,
    responses=problem_responses(400, 401, 403, 404, 429, 503),
)


class AuditChainNotFound(NotFound):
    code = "audit.chain_not_found"


@dataclass(frozen=True, slots=True)
class AuditReader:
    """Proof that the caller may read ``chain`` (None: every chain, a platform admin's);
    ``viewer`` is the tenant whose admins read, whose view leaves other tenants out."""

    chain: str | None
    viewer: str | None


@declares(AccessKind.TENANT_ROLE, Action.ADMIN)
async def audit_reader(request: Request, principal: PrincipalDep, access: AccessDep) -> AuditReader:
    """A platform admin without ``X-Tenant-ID`` reads every chain; anyone else the selected
    tenant's, if they administer it."""
    if principal.kind is PrincipalKind.PLATFORM_ADMIN and selection_of(request).tenant is None:
        return AuditReader(chain=None, viewer=None)
    found = await resolved(request, principal)
    require(found.role, Action.ADMIN, tenant=found.ctx.tenant_id)
    await admit(request, found.ctx)
    await access.check_open(found.ctx.tenant_id, team=found.ctx.team_id)
    tenant = found.ctx.tenant_id
    return AuditReader(tenant, None if found.role is Role.PLATFORM_ADMIN else tenant)


AuditReaderDep = Annotated[AuditReader, Depends(audit_reader)]


def audit_service(services: ServicesDep) -> audit.AuditService:
    found = services.audit.service
    if found is None:  # bootstrap always gives the log its keys
        raise AuditChainNotFound("the audit log is not available")
    return found


AuditDep = Annotated[audit.AuditService, Depends(audit_service)]


@router.get("")
async def list_audit(
    reader: AuditReaderDep,
    records: AuditDep,
    page: PageDep,
    *,
    since: Annotated[datetime | None, Query(description="Records at or after (UTC).")] = None,
    action: Annotated[str | None, Query(max_length=128, description="Only this action.")] = None,
    tenant: Annotated[
        str | None,
        Query(max_length=40, description="A platform admin's filter: a tenant id or @platform."),
    ] = None,
) -> PageOut[AuditItem]:
    """Records newest first; ``seq`` is null while a record waits for the sequencer."""
    chain = _chain(reader, tenant)
    listing = f"audit/{chain or '*'}"
    cursor = page.position(listing)
    query = audit.Query(
        chain=chain,
        since=since,
        action=action,
        before_id=None if cursor is None else _position(cursor),
        limit=page.limit,
        viewer=reader.viewer,
    )
    found = await records.records(query)
    last = str(found[-1].id) if len(found) == page.limit else None
    return PageOut(items=found, next_cursor=encode(listing, last))


def _chain(reader: AuditReader, tenant: str | None) -> str | None:
    """The chain to list: the reader's, or the one a platform admin names."""
    named = None if tenant is None else audit.chain_named(tenant)
    if reader.chain is None:
        return named
    if named is not None and named != reader.chain:
        raise AuditChainNotFound(f"no audit chain {tenant!r} here", details={"tenant": tenant})
    return reader.chain


def _position(cursor: str) -> int:
    if not (cursor.isascii() and cursor.isdigit()):
        raise PageCursorInvalid("the cursor names no record")
    return int(cursor)

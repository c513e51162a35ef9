"""What recipes' steps work with, beyond the maintenance scope their ``Work`` carries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import Unavailable
from tenantry.runtime.blobs import ArchiveArea
from tenantry.runtime.crypto import KeyVersions, Sealer
from tenantry.tenancy.controller.resources import Kind, Provisioner
from tenantry.tenancy.controller.service import Controller
from tenantry.tenancy.idempotency.service import IdempotencyService
from tenantry.tenancy.lifecycle.fence.drain import Fences
from tenantry.tenancy.lifecycle.moving import Moving
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import TenantNotFound, translated
from tenantry.tenancy.registry.models import TenantRow


class NotWired(Unavailable):
    code = "lifecycle.not_wired"


@dataclass(frozen=True, slots=True)
class Toolkit:
    sessions: SessionFactory
    keys: KeyVersions  # the tenants' key-encryption key versions
    idempotency: IdempotencyService  # its stored responses are sealed with the tenant's key
    clock: Clock = utc_now
    fences: Fences | None = None  # the suspend's drain (default: on ``sessions``)
    controller: Controller | None = None  # provisioners (retire) and reconcile (for_job)
    archives: ArchiveArea | None = None  # tenants' archive areas (archive, restore)
    sealer: Sealer | None = None  # the tenants' keys, for archive files
    moving: Moving | None = None  # what a migration between profiles needs (migration.py)

    async def tenant(self, tenant_id: str) -> TenantRow:
        async with translated(), self.sessions() as session:
            return await _row(session, tenant_id)

    async def environments(self, tenant_id: str) -> list[str]:
        """The environments the tenant has a stored placement for."""
        return sorted((await self.tenant(tenant_id)).placement or {})

    def provisioner(self, kind: Kind) -> Provisioner | None:
        """The provisioner of ``kind`` (None: that backend is not configured here)."""
        provisioners = self.holder().provisioners
        return next((p for p in provisioners if p.kind is kind), None)

    def holder(self) -> Controller:
        """The controller: what a tenant holds, forgetting it, and its provisioners."""
        if self.controller is None:
            raise NotWired("this process has no controller wired into its lifecycle jobs")
        return self.controller


async def _row(session: AsyncSession, tenant_id: str) -> TenantRow:
    row = await session.get(TenantRow, tenant_id)
    if row is None:
        raise TenantNotFound(tenant_id)
    return row

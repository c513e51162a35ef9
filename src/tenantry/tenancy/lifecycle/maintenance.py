"""The maintenance scope (``steps.Maintenance``): a tenant environment's stores for job steps,
whatever the tenant's lifecycle state, confined exactly as a serving scope is."""

from __future__ import annotations

from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import TenantNotFound, translated
from tenantry.tenancy.registry.models import TenantRow
from tenantry.tenancy.scopes import EnvironmentNotFound, Runtime


class MaintenanceScopes:
    def __init__(self, sessions: SessionFactory, runtime: Runtime) -> None:
        self._sessions, self._runtime = sessions, runtime

    async def scope(
        self, tenant_id: str, env_id: str, placement: Placement | None = None
    ) -> TenantScope:
        ctx = TenantCtx(tenant_id=ids.tenant_id(tenant_id), env_id=ids.env_id(env_id))
        return self._runtime.bind(ctx, placement or await self.placement(tenant_id, env_id))

    async def placement(self, tenant_id: str, env_id: str) -> Placement:
        """The environment's stored placement."""
        async with translated(), self._sessions() as session:
            row = await session.get(TenantRow, tenant_id)
        if row is None:
            raise TenantNotFound(tenant_id)
        stored = (row.placement or {}).get(env_id)
        if stored is None:
            raise EnvironmentNotFound(
                f"tenant {tenant_id!r} has no provisioned environment {env_id!r}",
                details={"tenant_id": tenant_id, "env_id": env_id},
            )
        return Placement.from_dict(stored)

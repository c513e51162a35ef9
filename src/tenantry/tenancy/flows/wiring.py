"""The engine's ports, implemented by the control plane: a tenant's settings from the registry,
its AI tokens charged to the ``ai_tokens`` meter within the plan's cap."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from tenantry.runtime.flows.errors import AiTokensRefused
from tenantry.tenancy.limits.errors import QuotaExceeded
from tenantry.tenancy.limits.meters import Meters
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.models import TenantRow


class RegistrySettings:
    """A tenant's ``settings``, cached per tenant by its registry generation."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._cache: dict[str, tuple[int, Mapping[str, Any]]] = {}

    async def get(self, tenant_id: str) -> Mapping[str, Any]:
        async with self._sessions() as session:
            row = await session.get(TenantRow, tenant_id)
            if row is None:
                return MappingProxyType({})
            cached = self._cache.get(tenant_id)
            if cached is not None and cached[0] == row.generation:
                return cached[1]
            settings = MappingProxyType(dict(row.settings or {}))
            self._cache[tenant_id] = (row.generation, settings)
            return settings


class MeteredTokens:
    def __init__(self, meters: Meters) -> None:
        self._meters = meters

    async def remaining(self, tenant_id: str) -> int:
        return (await self._meters.allowance(tenant_id)).remaining

    async def charge(self, tenant_id: str, amount: int, *, key: str) -> None:
        try:
            await self._meters.charge(tenant_id, amount, key=key)
        except QuotaExceeded as error:
            raise AiTokensRefused(error.message, retry_after=3600.0) from error

"""The seams of limits: where effective limits come from, and who keeps rate-limit state."""

from __future__ import annotations

from typing import Protocol

from tenantry.tenancy.limits.gcra import Decision
from tenantry.tenancy.limits.plans import Limits, RateLimit
from tenantry.tenancy.limits.schemas import RouteClass


class LimitsSource(Protocol):
    async def get(self, tenant_id: str) -> Limits:
        """The tenant's effective limits (raises ``tenant.not_found`` for an unknown one)."""
        ...


class RateLimiter(Protocol):
    """GCRA state per (tenant, route class): in process, or shared through Redis."""

    async def acquire(
        self, tenant_id: str, route_class: RouteClass, limit: RateLimit, *, cost: int = 1
    ) -> Decision: ...


class DoorLimiter(Protocol):
    """GCRA state per door key (a credential's or a client address's, ``names.door_limit_key``)."""

    async def acquire_key(self, key: str, limit: RateLimit) -> Decision: ...

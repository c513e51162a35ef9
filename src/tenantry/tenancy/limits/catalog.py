"""Effective limits per tenant, read from the registry and cached in the process.

The registry stores each tenant's ``limits`` in its spec (its bundle plan merged with its
overrides, see ``manifests.schemas``); the built-in ``standard`` plan fills the rest. A cached
entry is served for ``ttl`` seconds; then one narrow query reads the tenant's ``generation``
and stored limits, and the limits are resolved again only if the generation moved. So a
changed plan takes effect within ``ttl`` on every process, and the hot path is a dict lookup.
While the control database is unreachable a stale entry keeps being served (limits are
never dropped); a tenant never seen before then gets ``control_db.unavailable``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from tenantry.core import ids
from tenantry.core.errors import Unavailable
from tenantry.core.logging import get_logger
from tenantry.tenancy.limits import plans, repository
from tenantry.tenancy.limits.plans import Limits
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import TenantNotFound, translated

DEFAULT_TTL: Final = 5.0
_STALE_GRACE: Final = 1.0  # while the database is down, ask again this often, not every call

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Entry:
    generation: int
    limits: Limits
    expires: float


def resolve(stored: Any) -> Limits:
    """The effective limits of a stored spec's ``limits`` value (None: the plan defaults)."""
    overrides = None if stored is None else LimitsSpec.model_validate(stored)
    return plans.effective(None, overrides)


class LimitsCatalog:
    """A :class:`~tenantry.tenancy.limits.ports.LimitsSource` on the registry."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions, self._ttl, self._clock = sessions, ttl, clock
        self._cache: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, tenant_id: str) -> Limits:
        entry = self._cache.get(tenant_id)
        if entry is not None and self._clock() < entry.expires:
            return entry.limits
        ids.tenant_id(tenant_id)
        # One refresh per tenant at a time: callers arriving meanwhile wait and reuse it.
        async with self._locks.setdefault(tenant_id, asyncio.Lock()):
            entry = self._cache.get(tenant_id)
            if entry is not None and self._clock() < entry.expires:
                return entry.limits
            return await self._refresh(tenant_id, entry)

    async def _refresh(self, tenant_id: str, entry: _Entry | None) -> Limits:
        try:
            async with translated(), self._sessions() as session:
                found = await repository.stored_limits(session, [tenant_id])
        except Unavailable as error:
            if entry is None:
                raise
            log.warning("limits.stale", tenant_id=tenant_id, error=error.message)
            self._cache[tenant_id] = _Entry(
                entry.generation, entry.limits, self._clock() + _STALE_GRACE
            )
            return entry.limits
        if tenant_id not in found:
            self._cache.pop(tenant_id, None)
            raise TenantNotFound(tenant_id)
        generation, stored = found[tenant_id]
        same = entry is not None and entry.generation == generation
        limits = entry.limits if entry is not None and same else resolve(stored)
        self._cache[tenant_id] = _Entry(generation, limits, self._clock() + self._ttl)
        return limits

    def invalidate(self, tenant_id: str | None = None) -> None:
        """Forget one tenant's cached limits (or all), so the next call reads them again."""
        if tenant_id is None:
            self._cache.clear()
        else:
            self._cache.pop(tenant_id, None)


class StaticLimits:
    """The same limits for every tenant: for tests, benchmarks and single-purpose tools."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits if limits is not None else plans.effective(None)

    async def get(self, tenant_id: str) -> Limits:
        ids.tenant_id(tenant_id)
        return self.limits

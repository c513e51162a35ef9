"""The flow bound to a channel: the channel's binding, else its team's; pinned (``name@1.0``)
or, without a version, the newest applied. Answers are cached per tenant until its registry
generation changes (every apply that changes the tenant bumps it); the generation itself is
read at most once per ``fresh`` seconds per channel, so a runner costs no query per message and
an apply takes effect within that time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core import ids
from tenantry.runtime.flows.model import FlowDef, parse_ref
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import FlowNotFound, TenantNotFound
from tenantry.tenancy.registry.models import ChannelRow, FlowRow, TeamRow, TenantRow

_MAX_CACHED = 10_000
FRESH = 1.0  # seconds a channel's flow is answered from the cache without reading the registry


@dataclass(frozen=True, slots=True)
class FlowVersion:
    """One applied version of a tenant's flow, as listed."""

    name: str
    version: str
    nodes: int
    digest: str
    applied_at: str


class FlowCatalog:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        fresh: float = FRESH,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions, self._fresh, self._now = sessions, fresh, now
        self._cache: dict[tuple[str, str, str], tuple[int, FlowDef | None]] = {}
        self._checked: dict[tuple[str, str, str], float] = {}  # when the generation was read

    async def resolve(self, tenant_id: str, team_id: str | None, channel_id: str) -> FlowDef | None:
        """The flow that answers ``channel_id`` of the team, or None when none is bound."""
        team = team_id or ids.DEFAULT_TEAM
        key = (tenant_id, team, channel_id)
        cached, checked = self._cache.get(key), self._checked.get(key)
        if cached is not None and checked is not None and self._now() - checked < self._fresh:
            return cached[1]
        async with self._sessions() as session:
            generation = await session.scalar(
                select(TenantRow.generation).where(TenantRow.id == tenant_id)
            )
            if generation is None:
                return None
            if cached is not None and cached[0] == generation:
                self._checked[key] = self._now()
                return cached[1]
            found = await self._bound(session, tenant_id, team, channel_id)
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
            self._checked.clear()
        self._cache[key] = (generation, found)
        self._checked[key] = self._now()
        return found

    async def _bound(
        self, session: AsyncSession, tenant_id: str, team: str, channel_id: str
    ) -> FlowDef | None:
        channel = await session.get(ChannelRow, (tenant_id, team, channel_id))
        owner = await session.get(TeamRow, (tenant_id, team))
        ref = (channel.flow if channel else None) or (owner.flow if owner else None)
        if ref is None:
            return None
        name, version = parse_ref(ref)
        row = await _version(session, tenant_id, name, version)
        return None if row is None else FlowDef.of(row.definition)

    async def get(self, tenant_id: str, name: str, version: str | None = None) -> FlowDef:
        """One of the tenant's flows: a version, or the newest applied; ``flow.not_found``."""
        async with self._sessions() as session:
            row = await _version(session, tenant_id, name, version)
        if row is None:
            shown = name if version is None else f"{name}@{version}"
            raise FlowNotFound(
                f"tenant {tenant_id!r} has no flow {shown!r}",
                details={"tenant_id": tenant_id, "flow": name, "version": version},
            )
        return FlowDef.of(row.definition)

    async def list(self, tenant_id: str) -> list[FlowVersion]:
        """Every applied version of the tenant's flows, by name then newest first."""
        async with self._sessions() as session:
            if await session.get(TenantRow, tenant_id) is None:
                raise TenantNotFound(tenant_id)
            rows = await session.scalars(
                select(FlowRow)
                .where(FlowRow.tenant_id == tenant_id)
                .order_by(FlowRow.name, FlowRow.created_at.desc())
            )
            return [
                FlowVersion(
                    r.name,
                    r.version,
                    len(r.definition.get("nodes", [])),
                    r.digest,
                    r.created_at.isoformat(),
                )
                for r in rows
            ]


async def _version(
    session: AsyncSession, tenant_id: str, name: str, version: str | None
) -> FlowRow | None:
    if version is not None:
        return await session.get(FlowRow, (tenant_id, name, version))
    return await session.scalar(
        select(FlowRow)
        .where(FlowRow.tenant_id == tenant_id, FlowRow.name == name)
        .order_by(FlowRow.created_at.desc(), FlowRow.version.desc())
        .limit(1)
    )

"""The flow bound to a channel: the channel's binding, else its team's; without a pinned
version, the newest applied. (Foundation: no caching, no pinned versions yet.)"""

from __future__ import annotations

from sqlalchemy import select

from tenantry.core import ids
from tenantry.runtime.flows.model import FlowDef
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.models import ChannelRow, FlowRow, TeamRow


class FlowCatalog:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def resolve(self, tenant_id: str, team_id: str | None, channel_id: str) -> FlowDef | None:
        """The flow that answers ``channel_id`` of the team, or None when none is bound."""
        team = team_id or ids.DEFAULT_TEAM
        async with self._sessions() as session:
            channel = await session.get(ChannelRow, (tenant_id, team, channel_id))
            owner = await session.get(TeamRow, (tenant_id, team))
            name = (channel.flow if channel else None) or (owner.flow if owner else None)
            if name is None:
                return None
            newest = await session.scalar(
                select(FlowRow)
                .where(FlowRow.tenant_id == tenant_id, FlowRow.name == name)
                .order_by(FlowRow.created_at.desc())
                .limit(1)
            )
        return None if newest is None else FlowDef.of(newest.definition)

"""The stores of one team: a tenant environment's sessions, state and secrets, bound to a team.

``TenantScope.team`` holds them, bound by ``tenancy.scopes.Scopes.open`` to the context's team
(checked against the registry), so tenant code acting for a team passes no team id at all.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tenantry.core import ids
from tenantry.core.errors import NotFound
from tenantry.runtime.blobs import Page
from tenantry.runtime.secrets.schemas import Secret, SecretInfo, VersionInfo
from tenantry.runtime.secrets.service import SecretStore
from tenantry.runtime.sessions.schemas import FlowCursor, Session, TranscriptEntry
from tenantry.runtime.sessions.store import SessionStore
from tenantry.runtime.state import JsonInput, JsonValue, StateStore


class ChannelNotFound(NotFound):
    code = "channel.not_found"


@dataclass(frozen=True, slots=True)
class TeamSessions:
    """The team's sessions; a session may name only a channel of the team."""

    store: SessionStore
    team_id: str | None
    channels: frozenset[str]

    async def create(
        self,
        session: str,
        *,
        channel: str | None = None,
        user: str | None = None,
        cursor: FlowCursor | None = None,
        variables: Mapping[str, Any] | None = None,
        transcript: Sequence[TranscriptEntry] = (),
        ttl: timedelta | None = None,
    ) -> Session:
        if channel is not None and ids.channel_id(channel) not in self.channels:
            team = self.team_id or ids.DEFAULT_TEAM
            raise ChannelNotFound(
                f"team {team!r} has no channel {ids.show(channel)}",
                details={"team_id": team, "channel_id": channel},
            )
        return await self.store.create(
            self.team_id,
            session,
            channel=channel,
            user=user,
            cursor=cursor,
            variables=variables,
            transcript=transcript,
            ttl=ttl,
        )

    async def get(self, session: str) -> Session:
        return await self.store.get(self.team_id, session)

    async def list(self, *, after: str | None = None, limit: int = 100) -> Page[Session]:
        return await self.store.list(team=self.team_id, after=after, limit=limit)

    async def update(self, session: Session, *, ttl: timedelta | None = None) -> Session:
        if session.team_id != (self.team_id or ids.DEFAULT_TEAM):
            raise AssertionError("a team's store updates only the team's own sessions")
        return await self.store.update(session, ttl=ttl)

    async def delete(self, session: str, *, revision: int | None = None) -> bool:
        return await self.store.delete(self.team_id, session, revision=revision)


@dataclass(frozen=True, slots=True)
class TeamState:
    """The team's working memory, per session."""

    store: StateStore
    team_id: str | None

    async def get(self, session: str) -> JsonValue | None:
        return await self.store.get(self.team_id, session)

    async def set(self, session: str, value: JsonInput, *, ttl: float | None = None) -> None:
        await self.store.set(self.team_id, session, value, ttl=ttl)

    async def delete(self, session: str) -> bool:
        return await self.store.delete(self.team_id, session)


@dataclass(frozen=True, slots=True)
class TeamSecrets:
    """The team's secrets (the tenant's when no team is selected); reads fall back to the
    tenant's."""

    store: SecretStore
    team_id: str | None

    async def put(self, name: str, value: bytes | str) -> VersionInfo:
        return await self.store.put(name, value, team=self.team_id)

    async def get(self, name: str, *, version: int | None = None) -> Secret:
        return await self.store.get(name, team=self.team_id, version=version)

    async def list(self) -> builtins.list[SecretInfo]:
        return await self.store.list(team=self.team_id)

    async def versions(self, name: str) -> builtins.list[VersionInfo]:
        return await self.store.versions(name, team=self.team_id)

    async def delete(self, name: str) -> int:
        return await self.store.delete(name, team=self.team_id)


@dataclass(frozen=True, slots=True)
class TeamStores:
    team_id: str | None
    sessions: TeamSessions
    state: TeamState
    secrets: TeamSecrets

    @classmethod
    def bind(
        cls,
        team_id: str | None,
        *,
        sessions: SessionStore,
        state: StateStore,
        secrets: SecretStore,
        channels: frozenset[str] = frozenset(),
    ) -> TeamStores:
        return cls(
            team_id,
            TeamSessions(sessions, team_id, channels),
            TeamState(state, team_id),
            TeamSecrets(secrets, team_id),
        )

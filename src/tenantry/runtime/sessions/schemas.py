"""The session record: one user conversation of a tenant environment's team."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from tenantry.core import ids


class AllTeams(enum.Enum):
    """The sentinel for listing every team of the environment (``None`` is the default team)."""

    ALL = "all"


ALL_TEAMS: Final = AllTeams.ALL


@dataclass(frozen=True, slots=True)
class FlowCursor:
    """Where the session stands in its flow."""

    flow: str  # a flow name
    node: str  # a node id of that flow
    version: str | None = None  # the flow version it started on


class TranscriptEntry(NamedTuple):
    """One turn of the conversation (a tuple: sessions hold many, and read them often)."""

    role: str  # "user", "assistant", "system", a tool name ...
    text: str
    at: datetime
    data: Mapping[str, Any] = MappingProxyType({})  # JSON-like extras


@dataclass(frozen=True, slots=True)
class Session:
    tenant_id: ids.TenantId
    env_id: ids.EnvId
    team_id: ids.TeamId  # "default" when the context names no team
    session_id: ids.SessionId
    channel_id: ids.ChannelId | None
    user_id: str | None
    cursor: FlowCursor | None
    variables: Mapping[str, Any]  # JSON-like
    transcript: tuple[TranscriptEntry, ...]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    revision: int  # 1 on create, +1 on every update
    # (path, revision, blob version, stored bytes) as read: lets update() write conditionally
    # on what was read, and count the change of size, without reading again, for that path and
    # revision only.
    _origin: tuple[str, int, str, int] | None = field(default=None, compare=False, repr=False)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True, slots=True)
class SessionKey:
    team_id: ids.TeamId
    session_id: ids.SessionId

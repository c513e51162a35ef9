"""Bodies of ``/api/v1/sessions``: what clients send and what they get back.

A session is changed by revision: ``PUT`` replaces its content (variables, flow cursor,
transcript), ``PATCH`` merges into it (``variables`` as an RFC 7386 JSON merge patch, ``cursor``
when given, ``append`` adds transcript entries). Both keep the id, team, channel and user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from tenantry.api.schemas.paths import id_rules
from tenantry.core.clock import utc_now
from tenantry.core.ids import IdKind
from tenantry.runtime.sessions.codec import MAX_DEPTH, MAX_USER, USER_PATTERN
from tenantry.runtime.sessions.errors import SessionInvalid
from tenantry.runtime.sessions.schemas import FlowCursor, Session, TranscriptEntry

MAX_TTL_SECONDS: Final = 10 * 365 * 24 * 3600.0

TtlSeconds = Annotated[
    float | None,
    Field(
        gt=0,
        le=MAX_TTL_SECONDS,
        description="Seconds until the session expires (from now); null keeps it as it is.",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlowCursorBody(_Body):
    flow: str = Field(description="The flow's name.", json_schema_extra=id_rules(IdKind.FLOW))
    node: str = Field(
        description="The node of that flow the session stands at.",
        json_schema_extra=id_rules(IdKind.NODE),
    )
    version: str | None = None

    def domain(self) -> FlowCursor:
        return FlowCursor(self.flow, self.node, self.version)

    @classmethod
    def of(cls, cursor: FlowCursor | None) -> FlowCursorBody | None:
        return (
            None
            if cursor is None
            else cls(flow=cursor.flow, node=cursor.node, version=cursor.version)
        )


class EntryBody(_Body):
    role: str = Field(description='"user", "assistant", "system", a tool name...')
    text: str
    at: AwareDatetime | None = Field(None, description="When it was said; now if omitted.")
    data: dict[str, JsonValue] = Field(default_factory=dict)

    def domain(self, now: datetime) -> TranscriptEntry:
        return TranscriptEntry(self.role, self.text, self.at or now, self.data)


class EntryOut(BaseModel):
    role: str
    text: str
    at: datetime
    data: dict[str, Any]


class SessionCreate(_Body):
    session_id: str = Field(
        description="Lowercase letters, digits, single '-' or '_'; max 64.",
        json_schema_extra=id_rules(IdKind.SESSION),
    )
    channel_id: str | None = Field(None, json_schema_extra=id_rules(IdKind.CHANNEL))
    user_id: str | None = Field(
        None,
        description=f"The end user, 1 to {MAX_USER} characters, no control characters or "
        "line breaks.",
        json_schema_extra={"pattern": USER_PATTERN, "minLength": 1, "maxLength": MAX_USER},
    )
    cursor: FlowCursorBody | None = None
    variables: dict[str, JsonValue] = Field(default_factory=dict)
    transcript: list[EntryBody] = Field(default_factory=list)
    ttl_seconds: TtlSeconds = None

    def entries(self) -> list[TranscriptEntry]:
        now = utc_now()
        return [entry.domain(now) for entry in self.transcript]

    def ttl(self) -> timedelta | None:
        return _ttl(self.ttl_seconds)


class SessionReplace(_Body):
    variables: dict[str, JsonValue] = Field(default_factory=dict)
    cursor: FlowCursorBody | None = None
    transcript: list[EntryBody] = Field(default_factory=list)
    ttl_seconds: TtlSeconds = None

    def applied(self, current: Session) -> Session:
        now = utc_now()
        return replace(
            current,
            variables=dict(self.variables),
            cursor=None if self.cursor is None else self.cursor.domain(),
            transcript=tuple(entry.domain(now) for entry in self.transcript),
        )

    def ttl(self) -> timedelta | None:
        return _ttl(self.ttl_seconds)


class SessionPatch(_Body):
    variables: dict[str, JsonValue] | None = Field(
        None, description="A JSON merge patch (RFC 7386) of the variables: null removes a key."
    )
    cursor: FlowCursorBody | None = Field(None, description="Set (or, with null, clear) it.")
    append: list[EntryBody] = Field(default_factory=list, description="Transcript entries to add.")
    ttl_seconds: TtlSeconds = None

    def applied(self, current: Session) -> Session:
        now = utc_now()
        variables = current.variables
        if self.variables is not None:
            variables = _merged(current.variables, self.variables, 0)
        cursor = current.cursor
        if "cursor" in self.model_fields_set:
            cursor = None if self.cursor is None else self.cursor.domain()
        added = tuple(entry.domain(now) for entry in self.append)
        return replace(
            current, variables=variables, cursor=cursor, transcript=current.transcript + added
        )

    def ttl(self) -> timedelta | None:
        return _ttl(self.ttl_seconds)


class SessionSummary(BaseModel):
    session_id: str
    team_id: str
    channel_id: str | None
    user_id: str | None
    cursor: FlowCursorBody | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    revision: int = Field(description="1 on create, +1 on every change; the ETag quotes it.")

    @classmethod
    def of(cls, session: Session) -> SessionSummary:
        return cls(**_summary(session))


class SessionOut(SessionSummary):
    variables: dict[str, Any]
    transcript: list[EntryOut]

    @classmethod
    def of(cls, session: Session) -> SessionOut:
        return cls(
            **_summary(session),
            variables=dict(session.variables),
            transcript=[
                EntryOut(role=e.role, text=e.text, at=e.at, data=dict(e.data))
                for e in session.transcript
            ],
        )


def _summary(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "team_id": session.team_id,
        "channel_id": session.channel_id,
        "user_id": session.user_id,
        "cursor": FlowCursorBody.of(session.cursor),
        "created_at": session.created_at,
        "updated_at": session.updated_at,
        "expires_at": session.expires_at,
        "revision": session.revision,
    }


def _ttl(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def _merged(target: Mapping[str, Any], patch: Mapping[str, Any], depth: int) -> dict[str, Any]:
    """RFC 7386 on objects: null removes a member, objects merge, anything else replaces."""
    if depth >= MAX_DEPTH:
        raise SessionInvalid(f"the variables patch is nested deeper than {MAX_DEPTH} levels")
    result = dict(target)
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        elif isinstance(value, dict):
            base = result.get(name)
            result[name] = _merged(base if isinstance(base, dict) else {}, value, depth + 1)
        else:
            result[name] = value
    return result

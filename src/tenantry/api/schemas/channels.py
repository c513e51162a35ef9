"""Bodies of ``/api/v1/channels/{channel_id}/...``: webchat messages and visitor credentials."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from tenantry.api.schemas.paths import id_rules
from tenantry.core.ids import IdKind
from tenantry.runtime.messaging.envelope import MAX_TEXT, MAX_USER
from tenantry.runtime.messaging.webchat import Outgoing
from tenantry.tenancy.access.visitors import MAX_TTL, IssuedVisitor

_USER: Final[dict[str, Any]] = {"minLength": 1, "maxLength": MAX_USER}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageIn(_Body):
    user_id: str | None = Field(
        None,
        description="The user who says it (required for a team member's credential; a "
        "visitor speaks as its credential's user, and may name only that one).",
        json_schema_extra=_USER,
    )
    text: str = Field(max_length=MAX_TEXT)
    session_id: str | None = Field(
        None,
        description="The conversation; a new one is started when left out (a visitor's is "
        "its credential's).",
        json_schema_extra=id_rules(IdKind.SESSION),
    )


class MessageAccepted(BaseModel):
    message_id: str
    session_id: str


class MessageOut(BaseModel):
    position: int = Field(description="The index among the session's outgoing messages.")
    message_id: str
    in_reply_to: str | None
    text: str
    at: datetime

    @classmethod
    def of(cls, message: Outgoing) -> MessageOut:
        return cls(
            position=message.position,
            message_id=message.message_id,
            in_reply_to=message.in_reply_to,
            text=message.text,
            at=message.at,
        )


class MessagesOut(BaseModel):
    session_id: str
    messages: list[MessageOut]
    next_after: int | None = Field(
        description="The position to ask after next (the last one here; the one asked "
        "after when none came)."
    )


class VisitorIn(_Body):
    session_id: str | None = Field(
        None,
        description="The conversation the credential is for; a new session when left out.",
        json_schema_extra=id_rules(IdKind.SESSION),
    )
    user_id: str | None = Field(
        None,
        description="The user the visitor speaks as (default: the visitor's own id).",
        json_schema_extra={"minLength": 1, "maxLength": 128},
    )
    ttl_seconds: int | None = Field(
        None,
        ge=1,
        le=int(MAX_TTL.total_seconds()),
        description="How long the credential lives: default 1 h, at most 24 h and the "
        "tenant plan's max_token_ttl.",
    )

    def ttl(self) -> timedelta | None:
        return None if self.ttl_seconds is None else timedelta(seconds=self.ttl_seconds)


class VisitorOut(BaseModel):
    token: str = Field(description="The visitor credential (a bearer token); shown once.")
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    jti: str = Field(description="Its id: DELETE /api/v1/tokens/{jti} revokes it.")
    principal: str
    channel_id: str
    session_id: str
    user_id: str
    expires_at: datetime

    @classmethod
    def of(cls, issued: IssuedVisitor) -> VisitorOut:
        bound = issued.conversation
        return cls(
            token=issued.token,
            jti=issued.jti,
            principal=issued.principal,
            channel_id=bound.channel_id,
            session_id=bound.session_id,
            user_id=bound.user_id,
            expires_at=issued.expires_at,
        )

"""The message envelope: what every message on the bus is, validated on publish and on receive.

An envelope is JSON (``encode``/``decode``), version 1. Its ids follow the identifier grammar;
``team_id`` is ``default`` for a context without a team, as in subjects. The ids it names must be
those of the subject it travels on (:meth:`Envelope.check_subject`): the subject decides the
tenant a consumer acts for, and an envelope that claims another is refused.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from tenantry.core import ids, names
from tenantry.runtime.messaging.errors import EnvelopeInvalid, EnvelopeMismatch

VERSION: Final = 1
MAX_TEXT: Final = 16 * 1024  # characters of a message's text
MAX_ATTACHMENTS: Final = 16
MAX_USER: Final = 256
_CORRELATION: Final = r"^[A-Za-z0-9._-]{1,64}$"
_REPLY_BASE: Final = 56  # leaves room for "-r{index}" within 64
_MEDIA_TYPE: Final = r"^[\w.+-]+/[\w.+-]+$"
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def _grammar(check: Callable[[object], str]) -> AfterValidator:
    """An id validator inside Pydantic, which collects only ``ValueError``s."""

    def validate(value: str) -> str:
        try:
            return check(value)
        except ids.InvalidId as error:
            raise ValueError(error.message) from error

    return AfterValidator(validate)


def _printable(value: str) -> str:
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(f"holds a control character U+{ord(found.group()):04X}")
    return value


TenantField = Annotated[str, _grammar(ids.tenant_id)]
EnvField = Annotated[str, _grammar(ids.env_id)]
TeamField = Annotated[str, _grammar(ids.team_id)]
ChannelField = Annotated[str, _grammar(ids.channel_id)]
SessionField = Annotated[str, _grammar(ids.session_id)]
MessageIdField = Annotated[str, _grammar(ids.message_id)]
UserField = Annotated[str, Field(min_length=1, max_length=MAX_USER), AfterValidator(_printable)]
Role = Literal["user", "assistant", "system"]


class Attachment(BaseModel):
    """Metadata of an attachment (its bytes live in the tenant's objects or at the provider)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_printable)]
    content_type: Annotated[str, Field(max_length=128, pattern=_MEDIA_TYPE)]
    size: int = Field(ge=0)
    url: Annotated[str, Field(max_length=2048), AfterValidator(_printable)] | None = None


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = VERSION
    message_id: MessageIdField
    tenant_id: TenantField
    env_id: EnvField
    team_id: TeamField = ids.DEFAULT_TEAM
    channel_id: ChannelField
    session_id: SessionField
    user_id: UserField
    role: Role = "user"
    text: str = Field(max_length=MAX_TEXT)
    attachments: tuple[Attachment, ...] = Field(default=(), max_length=MAX_ATTACHMENTS)
    correlation_id: Annotated[str, Field(pattern=_CORRELATION)] | None = None
    in_reply_to: MessageIdField | None = None  # on egress: the ingress message answered
    seq: int | None = Field(default=None, ge=1)  # the message's place in its session, if known
    sent_at: datetime  # when the sender (user, provider, flow) sent it, UTC
    received_at: datetime | None = None  # when Tenantry accepted it

    def subject(self, direction: names.Direction, *, prefix: str) -> str:
        team = None if self.team_id == ids.DEFAULT_TEAM else self.team_id
        return names.subject(
            direction, self.tenant_id, self.env_id, team, self.channel_id, prefix=prefix
        )

    def check_subject(self, subject: str, *, prefix: str) -> names.Direction:
        """The direction of ``subject``, if it names this envelope's ids; else
        :class:`EnvelopeMismatch` naming the ids that disagree."""
        direction, tenant, env, team, channel = names.parse_subject(subject, prefix=prefix)
        said = {"tenant_id": tenant, "env_id": env, "team_id": team, "channel_id": channel}
        wrong = sorted(key for key, value in said.items() if getattr(self, key) != value)
        if wrong:
            raise EnvelopeMismatch(
                f"message {self.message_id} names other {', '.join(wrong)} than its subject",
                details={"message_id": self.message_id, "fields": wrong},
            )
        return direction

    def encode(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        """The envelope ``data`` holds; :class:`EnvelopeInvalid` for anything else."""
        try:
            return cls.model_validate_json(data)
        except ValidationError as error:
            raise _invalid(error) from None

    @classmethod
    def of(cls, **fields: object) -> Envelope:
        """A new envelope of ``fields``; :class:`EnvelopeInvalid` naming the first bad one."""
        try:
            return cls.model_validate(fields)
        except ValidationError as error:
            raise _invalid(error) from None


def _invalid(error: ValidationError) -> EnvelopeInvalid:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "message"
    return EnvelopeInvalid(
        f"not a valid message: {where}: {first['msg']}", details={"field": where}
    )


def new_message_id() -> ids.MessageId:
    """A fresh message id: 32 lowercase hex digits."""
    return ids.MessageId(uuid.uuid4().hex)


def reply_id(message_id: str, index: int) -> ids.MessageId:
    """The id of the ``index``-th reply to ``message_id``: the same on every redelivery, so
    a reply published twice is deduplicated by the bus."""
    base = ids.message_id(message_id)
    if len(base) > _REPLY_BASE:
        base = ids.MessageId(hashlib.sha256(base.encode()).hexdigest()[:_REPLY_BASE])
    return ids.message_id(f"{base}-r{index}")

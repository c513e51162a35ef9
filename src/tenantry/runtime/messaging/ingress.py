"""The way in: a channel's user message becomes an envelope on its ingress subject.

Webchat and the provider adapters call :meth:`Ingress.accept` with a scope already bound to the
tenant environment and team (so a session of another team, tenant or channel is not found, as if
absent). A message without a session starts a new one; the envelope is published durably, so
:meth:`Ingress.accept` returning means the message will be processed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tenantry.core import ids, names
from tenantry.core.clock import Clock, utc_now
from tenantry.runtime.messaging.envelope import Attachment, Envelope, new_message_id
from tenantry.runtime.messaging.ports import Bus
from tenantry.runtime.messaging.sequences import SessionSequences
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.sessions.errors import SessionNotFound
from tenantry.runtime.sessions.schemas import Session


@dataclass(frozen=True, slots=True)
class Inbound:
    channel_id: str
    user_id: str
    text: str
    session_id: str | None = None  # None starts a new session
    attachments: tuple[Attachment, ...] = ()
    message_id: str | None = None  # the sender's own id (a provider event's, hashed): dedup
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    message_id: ids.MessageId
    session_id: ids.SessionId


def new_session_id() -> ids.SessionId:
    return ids.SessionId(uuid.uuid4().hex)


class Ingress:
    def __init__(
        self, bus: Bus, *, clock: Clock = utc_now, sequences: SessionSequences | None = None
    ) -> None:
        """``sequences`` numbers each session's messages (``Envelope.seq``), so runners keep
        their order; without it messages go unnumbered."""
        self._bus, self._clock, self._sequences = bus, clock, sequences

    async def accept(self, scope: TenantScope, inbound: Inbound) -> Accepted:
        channel = ids.channel_id(inbound.channel_id)
        session = await self._session(scope, inbound, channel)
        key = names.session_seq_key(
            session.tenant_id, session.env_id, session.team_id, session.session_id
        )
        seq = None if self._sequences is None else await self._sequences.next(key)
        envelope = self._envelope(scope, inbound, session, seq=seq)
        try:
            await self._publish(envelope)
        except BaseException:
            if seq is not None and self._sequences is not None:
                await self._sequences.give_back(key, seq)
            raise
        return Accepted(ids.MessageId(envelope.message_id), session.session_id)

    def _envelope(
        self, scope: TenantScope, inbound: Inbound, session: Session, *, seq: int | None = None
    ) -> Envelope:
        ctx, now = scope.ctx, self._clock()
        return Envelope.of(
            message_id=inbound.message_id or new_message_id(),
            tenant_id=ctx.tenant_id,
            env_id=ctx.env_id,
            team_id=ctx.team_id or ids.DEFAULT_TEAM,
            channel_id=inbound.channel_id,
            session_id=session.session_id,
            user_id=inbound.user_id,
            text=inbound.text,
            attachments=inbound.attachments,
            correlation_id=ctx.correlation_id,
            sent_at=inbound.sent_at or now,
            received_at=now,
            seq=seq,
        )

    async def _publish(self, envelope: Envelope) -> None:
        subject = envelope.subject(names.Direction.INGRESS, prefix=self._bus.prefix)
        await self._bus.publish(subject, envelope.encode(), message_id=envelope.message_id)

    async def _session(
        self, scope: TenantScope, inbound: Inbound, channel: ids.ChannelId
    ) -> Session:
        sessions = scope.team.sessions
        if inbound.session_id is None:
            return await sessions.create(new_session_id(), channel=channel, user=inbound.user_id)
        session = await sessions.get(ids.session_id(inbound.session_id))
        if session.channel_id != channel:
            raise SessionNotFound(
                f"channel {channel!r} has no session {ids.show(inbound.session_id)}",
                details={"channel_id": channel, "session_id": inbound.session_id},
            )
        return session

"""The webchat channel: post a user's message, read the session's outgoing messages.

Replies are not read from the bus: the runner records each turn in the session's transcript
before it publishes the replies on egress, so the transcript is the record, and a message's
*position* is its index among the session's outgoing messages (``turns.outgoing``). The egress
subject of the channel only wakes a waiting reader, which then reads the session again; the
listener is opened before the first read, so a reply recorded in between is not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from tenantry.core import ids, names
from tenantry.runtime.flows.turns import outgoing
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.errors import EnvelopeInvalid
from tenantry.runtime.messaging.ingress import Accepted, Inbound, Ingress, new_session_id
from tenantry.runtime.messaging.ports import Bus, Message
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.sessions.errors import SessionNotFound
from tenantry.runtime.sessions.schemas import Session

MAX_WAIT: Final = 60.0  # seconds a long-poll may wait
MAX_BATCH: Final = 100  # outgoing messages in one answer


class Stop(Protocol):
    """What ends a wait early (a suspend's fence closing a long-lived connection)."""

    @property
    def closed(self) -> bool: ...

    async def wait(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One of a session's outgoing messages, at its position."""

    position: int
    message_id: str
    in_reply_to: str | None
    text: str
    at: datetime


class Webchat:
    def __init__(self, bus: Bus, ingress: Ingress) -> None:
        self._bus, self._ingress = bus, ingress

    async def post(self, scope: TenantScope, inbound: Inbound) -> Accepted:
        """Publish the message on the channel's ingress (a new session when none is named)."""
        return await self._ingress.accept(scope, inbound)

    async def session(self, scope: TenantScope, channel: str, session: str) -> Session:
        return await channel_session(scope, channel, session)

    async def read(
        self,
        scope: TenantScope,
        channel: str,
        session: str,
        *,
        after: int,
        wait: float,
        stop: Stop | None = None,
    ) -> list[Outgoing]:
        """The session's outgoing messages after position ``after`` (``-1``: from the first),
        at most a batch, waiting up to ``wait`` seconds (or until ``stop``) for the first."""
        deadline = time.monotonic() + min(max(wait, 0.0), MAX_WAIT)
        async with self._woken(scope, channel, session) as wake:
            while True:
                found = after_position(await self.session(scope, channel, session), after)
                left = deadline - time.monotonic()
                if found or left <= 0 or (stop is not None and stop.closed):
                    return found
                await _pause(wake, stop, left)

    async def follow(
        self,
        scope: TenantScope,
        channel: str,
        session: str,
        *,
        after: int,
        wait: float,
        stop: Stop | None = None,
    ) -> AsyncGenerator[Outgoing]:
        """The session's outgoing messages after ``after`` as they come, for ``wait`` seconds
        or until ``stop`` (an event stream: the client reconnects with the last position)."""
        deadline = time.monotonic() + max(wait, 0.0)
        async with self._woken(scope, channel, session) as wake:
            while True:
                found = after_position(await self.session(scope, channel, session), after)
                for message in found:
                    yield message
                    after = message.position
                left = deadline - time.monotonic()
                if left <= 0 or (stop is not None and stop.closed):
                    return
                await _pause(wake, stop, left)

    @contextlib.asynccontextmanager
    async def _woken(
        self, scope: TenantScope, channel: str, session: str
    ) -> AsyncIterator[asyncio.Event]:
        """An event set whenever a reply of ``session`` is published on the channel's egress."""
        ctx = scope.ctx
        subject = names.subject(
            names.Direction.EGRESS,
            ctx.tenant_id,
            ctx.env_id,
            ctx.team_id,
            channel,
            prefix=self._bus.prefix,
        )
        wake = asyncio.Event()
        async with self._bus.listen(subject) as messages:
            task = asyncio.create_task(_watch(messages, session, wake))
            try:
                yield wake
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _pause(wake: asyncio.Event, stop: Stop | None, seconds: float) -> None:
    """Wait until ``wake`` is set, ``stop`` closes or ``seconds`` pass; then clear ``wake``."""
    waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(wake.wait())]
    if stop is not None:
        waits.append(asyncio.ensure_future(stop.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    wake.clear()


async def _watch(messages: AsyncIterator[Message], session: str, wake: asyncio.Event) -> None:
    async for message in messages:
        try:
            envelope = Envelope.decode(message.data)
        except EnvelopeInvalid:
            continue  # not ours to judge here: the egress dispatcher dead-letters it
        if envelope.session_id == session:
            wake.set()


async def channel_session(scope: TenantScope, channel: str, session: str) -> Session:
    """The channel's session ``session`` of the scope's team; 404 for any other."""
    found = await scope.team.sessions.get(ids.session_id(session))
    if found.channel_id != ids.channel_id(channel):
        raise SessionNotFound(
            f"channel {channel!r} has no session {ids.show(session)}",
            details={"channel_id": channel, "session_id": session},
        )
    return found


async def conversation(
    scope: TenantScope, channel: str, session: str | None, *, user: str
) -> Session:
    """The channel's session ``session``, or a new one of ``user`` on the channel (404 when
    the team has no such channel)."""
    if session is not None:
        return await channel_session(scope, channel, session)
    return await scope.team.sessions.create(new_session_id(), channel=channel, user=user)


def after_position(session: Session, after: int) -> list[Outgoing]:
    """The session's outgoing messages at positions after ``after``, at most a batch."""
    start = max(after + 1, 0)
    entries = outgoing(session)[start : start + MAX_BATCH]
    return [
        Outgoing(
            position=start + offset,
            message_id=str(entry.data.get("message_id", "")),
            in_reply_to=_text_or_none(entry.data.get("in_reply_to")),
            text=entry.text,
            at=entry.at,
        )
        for offset, entry in enumerate(entries)
    ]


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None

"""Processing one ingress delivery: the order every runner follows (docs/messaging.md, Runners).

decode and check the subject -> the context from the subject -> the team-bound scope -> load the
session -> already answered? republish those replies (same ids) and ack -> else wait for the
session's previous message if it is not recorded yet -> run the flow's turn -> save the session
(revision-checked) -> publish the replies on egress -> ack. A crash anywhere leaves the message
unacknowledged: it is delivered again, and the transcript says what was already done.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from tenantry.core import names
from tenantry.core.clock import Clock, utc_now
from tenantry.core.context import TenantCtx
from tenantry.core.errors import Gone, Locked, NotFound, TenantryError, Unavailable
from tenantry.core.logging import get_logger
from tenantry.runtime.flows.model import FlowDef
from tenantry.runtime.flows.turns import Turn, answered, recorded
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.errors import EnvelopeInvalid, EnvelopeMismatch
from tenantry.runtime.messaging.ports import Bus, Delivery
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.sessions.errors import RevisionMismatch
from tenantry.runtime.sessions.schemas import Session, TranscriptEntry
from tenantry.tenancy.lifecycle.fence.inflight import Hold
from tenantry.tenancy.lifecycle.states import TenantNotReady
from tenantry.tenancy.scopes import Scopes
from tenantry.worker.context import context_of_subject
from tenantry.worker.runners import ordering
from tenantry.worker.runners.dead_letters import DeadLetters

log = get_logger(__name__)

HOLD_DELAY = 1.0  # seconds before a held (suspended, not ready) tenant's message comes again
ORDER_DELAY = 0.1  # seconds before a message waiting for its predecessor comes again
_SAVE_TRIES = 3

Resolve = Callable[[str, str | None, str], Awaitable[FlowDef | None]]


class Engine(Protocol):
    async def run(
        self, scope: TenantScope, flow: FlowDef, session: Session, message: Envelope
    ) -> Turn: ...


class Outcome(enum.Enum):
    ANSWERED = "answered"  # the turn ran, was recorded and its replies published
    REPLAYED = "replayed"  # a redelivery of a recorded turn: its replies published again
    WAITING = "waiting"  # its predecessor is not recorded yet: delivered again shortly
    HELD = "held"  # its tenant may not run now (suspended, not ready): delivered again later
    RETRY = "retry"  # processing failed: delivered again after the bus's backoff
    DEAD = "dead"  # dead-lettered, never delivered again


@dataclass(frozen=True, slots=True)
class Processor:
    bus: Bus
    scopes: Scopes
    resolve: Resolve  # ``services.flows.resolve``
    engine: Engine
    admit: Callable[[str], Awaitable[Hold]]  # ``services.fence.admit``, the drain waits for it
    dead_letters: DeadLetters
    max_deliveries: int = 5
    order_gap: timedelta = timedelta(seconds=10)
    clock: Clock = utc_now
    hold_delay: float = HOLD_DELAY
    waiting: ordering.Waiting = field(default_factory=ordering.Waiting)

    async def handle(self, delivery: Delivery) -> Outcome:
        """Process ``delivery`` and settle it (ack, nak or term)."""
        try:
            message = Envelope.decode(delivery.data)
            message.check_subject(delivery.subject, prefix=self.bus.prefix)
        except (EnvelopeInvalid, EnvelopeMismatch) as error:
            await self.dead_letters.refuse(delivery, error)
            return Outcome.DEAD
        ctx = context_of_subject(
            delivery.subject, prefix=self.bus.prefix, correlation_id=message.correlation_id
        )
        try:
            hold = await self.admit(ctx.tenant_id)  # counted before the tenant's state is read
        except Unavailable as error:  # this process missed its heartbeat: it may miss a fence
            log.warning("runner.not_admitted", code=error.code, **ctx.log_fields())
            await delivery.nak(self.hold_delay)
            return Outcome.HELD
        try:
            return await self._admitted(delivery, message, ctx)
        finally:
            hold.release()

    async def _admitted(self, delivery: Delivery, message: Envelope, ctx: TenantCtx) -> Outcome:
        """Process, and settle the delivery by what went wrong if anything did."""
        try:
            return await self._opened(delivery, message, ctx)
        except (Locked, TenantNotReady) as error:  # suspended, archived, not provisioned
            log.info("runner.held", code=error.code, **ctx.log_fields())
            await delivery.nak(self.hold_delay)
            return Outcome.HELD
        except Gone as error:  # deleting or deleted: nobody will read its messages
            log.info("runner.dropped", code=error.code, **ctx.log_fields())
            await delivery.term()
            return Outcome.DEAD
        except NotFound as error:  # its team, session or environment is not there
            await self.dead_letters.give_up(delivery, message, error)
            return Outcome.DEAD
        except Exception as error:  # any failure: retried, then dead-lettered
            return await self._failed(delivery, message, error)

    async def _opened(self, delivery: Delivery, message: Envelope, ctx: TenantCtx) -> Outcome:
        """Process under the scope of ``ctx``, opened for writing: a migrating tenant's
        cutover is waited out (or refused, and the message retried) as an API write is."""
        scope, release = await self.scopes.open_writing(ctx)
        try:
            return await self._process(delivery, message, scope)
        finally:
            if release is not None:
                await release()

    async def _process(self, delivery: Delivery, message: Envelope, scope: TenantScope) -> Outcome:
        session = await scope.team.sessions.get(message.session_id)
        if session.channel_id != message.channel_id:
            error = EnvelopeMismatch(f"session {message.session_id} is not of this channel")
            await self.dead_letters.give_up(delivery, message, error)
            return Outcome.DEAD
        for _ in range(_SAVE_TRIES):
            replies = answered(session, message)
            if replies is not None:
                await self._publish(message, replies)
                await delivery.ack()
                return Outcome.REPLAYED
            if self._gate(session, message) is ordering.Gate.WAIT:
                await delivery.nak(ORDER_DELAY)
                return Outcome.WAITING
            try:
                saved = await self._turn(scope, session, message)
            except RevisionMismatch:  # another delivery of this session saved first: look again
                session = await scope.team.sessions.get(message.session_id)
                continue
            await self._publish(message, _replies_to(saved, message))
            await delivery.ack()
            return Outcome.ANSWERED
        raise RevisionMismatch(f"session {message.session_id} kept changing")

    def _gate(self, session: Session, message: Envelope) -> ordering.Gate:
        waited = self.waiting.waited(message.message_id)
        decided = ordering.gate(session, message, waited=waited, gap=self.order_gap)
        if decided is not ordering.Gate.WAIT:
            self.waiting.done(message.message_id)
        if decided is ordering.Gate.SKIP_GAP:
            log.warning("runner.order_gap_skipped", message_id=message.message_id, seq=message.seq)
        return decided

    async def _turn(self, scope: TenantScope, session: Session, message: Envelope) -> Session:
        """Run the channel's flow on ``message`` and save the session with the turn."""
        ctx = scope.ctx
        flow = await self.resolve(ctx.tenant_id, ctx.team_id, message.channel_id)
        turn = (
            Turn(replies=(), cursor=session.cursor, variables=session.variables)
            if flow is None  # no flow bound: the message is recorded, nothing answers it
            else await self.engine.run(scope, flow, session, message)
        )
        updated = ordering.numbered(recorded(session, message, turn, self.clock()), message)
        return await scope.team.sessions.update(updated)

    async def _publish(self, message: Envelope, replies: Sequence[TranscriptEntry]) -> None:
        for entry in replies:
            reply = Envelope.of(
                message_id=entry.data["message_id"],
                tenant_id=message.tenant_id,
                env_id=message.env_id,
                team_id=message.team_id,
                channel_id=message.channel_id,
                session_id=message.session_id,
                user_id=message.user_id,
                role="assistant",
                text=entry.text,
                correlation_id=message.correlation_id,
                in_reply_to=message.message_id,
                sent_at=entry.at,
            )
            subject = reply.subject(names.Direction.EGRESS, prefix=self.bus.prefix)
            await self.bus.publish(subject, reply.encode(), message_id=reply.message_id)

    async def _failed(self, delivery: Delivery, message: Envelope, error: Exception) -> Outcome:
        transient = isinstance(error, TenantryError) and error.kind.transient
        code = error.code if isinstance(error, TenantryError) else type(error).__name__
        log.warning(
            "runner.failed",
            message_id=message.message_id,
            attempt=delivery.attempt,
            code=code,
            error=str(error),
            tenant_id=message.tenant_id,
        )
        if transient or delivery.attempt < self.max_deliveries:
            await delivery.nak()
            return Outcome.RETRY
        await self.dead_letters.give_up(delivery, message, error)
        return Outcome.DEAD


def _replies_to(session: Session, message: Envelope) -> tuple[TranscriptEntry, ...]:
    return answered(session, message) or ()

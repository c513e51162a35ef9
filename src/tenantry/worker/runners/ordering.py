"""Per-session order: a message is processed only after its predecessor in the session.

Ingress numbers each session's messages (``Envelope.seq``, 1, 2, ...); the session records the
number of every message it processed (``data["seq"]`` of the user entry). A message whose number
is past the next expected waits (the runner naks it with a short delay) until its predecessor is
recorded, or until it has waited ``gap`` (counted by the runner that holds it back, so time a
suspended tenant's messages spend held does not count): a predecessor that never arrives
(refused at publish, dead-lettered) must not stop the conversation.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta

from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.sessions.schemas import Session, TranscriptEntry


class Gate(enum.Enum):
    GO = "go"  # process it now
    WAIT = "wait"  # its predecessor is not recorded yet: deliver it again shortly
    SKIP_GAP = "skip-gap"  # waited long enough for a predecessor: process it anyway


def last_seq(session: Session) -> int | None:
    """The number of the newest message the session recorded, if numbered."""
    for entry in reversed(session.transcript):
        if entry.role == "user":
            seq = entry.data.get("seq")
            return seq if isinstance(seq, int) else None
    return None


def gate(session: Session, message: Envelope, *, waited: timedelta, gap: timedelta) -> Gate:
    """Whether ``message`` may be processed in ``session`` now.

    An unnumbered message, or one numbered at or before the newest recorded (its counter was
    reset, or it comes after a skipped gap), goes at once: order is kept where it is known.
    """
    if message.seq is None:
        return Gate.GO
    last = last_seq(session) or 0
    if message.seq <= last + 1:
        return Gate.GO
    return Gate.SKIP_GAP if waited >= gap else Gate.WAIT


class Waiting:
    """When this process first held back each message still waiting (a bounded memory)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, keep: int = 10_000) -> None:
        self._clock, self._keep = clock, keep
        self._since: OrderedDict[str, float] = OrderedDict()

    def waited(self, message_id: str) -> timedelta:
        now = self._clock()
        since = self._since.setdefault(message_id, now)
        while len(self._since) > self._keep:
            self._since.popitem(last=False)
        return timedelta(seconds=now - since)

    def done(self, message_id: str) -> None:
        self._since.pop(message_id, None)


def numbered(session: Session, message: Envelope) -> Session:
    """``session`` (just recorded the turn of ``message``) with the message's number on its
    user entry, so the next message of the session finds it."""
    if message.seq is None:
        return session
    transcript = list(session.transcript)
    for index in range(len(transcript) - 1, -1, -1):
        entry = transcript[index]
        if entry.role == "user" and entry.data.get("message_id") == message.message_id:
            transcript[index] = TranscriptEntry(
                entry.role, entry.text, entry.at, {**entry.data, "seq": message.seq}
            )
            break
    return dataclasses.replace(session, transcript=tuple(transcript))

"""One turn of a conversation: what a flow answers to one user message, and how the session
records it (the message and the replies in the transcript, the cursor where it waits)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from tenantry.runtime.messaging.envelope import Envelope, reply_id
from tenantry.runtime.sessions.schemas import FlowCursor, Session, TranscriptEntry


@dataclass(frozen=True, slots=True)
class Turn:
    replies: tuple[str, ...]
    cursor: FlowCursor | None  # where the next message resumes (an ``ask``), None: the start
    variables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    ended: bool = False  # an ``end`` node closed the conversation
    handoff: Mapping[str, Any] | None = None  # a ``handoff`` node's details


def answered(session: Session, message: Envelope) -> tuple[TranscriptEntry, ...] | None:
    """The replies the session holds to ``message`` if its turn was already recorded (a
    redelivery after the session was saved), else None."""
    for index, entry in enumerate(session.transcript):
        if entry.role == "user" and entry.data.get("message_id") == message.message_id:
            after = session.transcript[index + 1 :]
            return tuple(
                e
                for e in after
                if e.role == "assistant" and e.data.get("in_reply_to") == message.message_id
            )
    return None


def recorded(session: Session, message: Envelope, turn: Turn, now: datetime) -> Session:
    """``session`` after ``turn``: the message and its replies appended to the transcript
    (each reply with the id it is published under), the cursor and variables replaced."""
    entries = [
        TranscriptEntry("user", message.text, message.sent_at, {"message_id": message.message_id})
    ]
    entries += [
        TranscriptEntry(
            "assistant",
            text,
            now,
            {"message_id": reply_id(message.message_id, index), "in_reply_to": message.message_id},
        )
        for index, text in enumerate(turn.replies)
    ]
    return dataclasses.replace(
        session,
        cursor=turn.cursor,
        variables=dict(turn.variables),
        transcript=(*session.transcript, *entries),
    )


def outgoing(session: Session) -> tuple[TranscriptEntry, ...]:
    """The session's outgoing messages, in order: a message's position is its index here."""
    return tuple(entry for entry in session.transcript if entry.role == "assistant")

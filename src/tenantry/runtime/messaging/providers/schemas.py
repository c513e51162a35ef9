"""What a provider adapter reads and writes: a webhook request, the user message or direct
answer it holds, and one outbound HTTP call."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tenantry.core import ids


@dataclass(frozen=True, slots=True)
class HookRequest:
    """An inbound webhook call: header names lower case, the raw body as signed."""

    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class UserMessage:
    """A user's message in a provider event."""

    event_id: str  # the provider's id of the event: retries carry the same one
    session_id: ids.SessionId  # the conversation's session (``Provider.session``)
    user_id: str
    text: str
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What the hook answers the provider itself (a handshake, an event that is no message)."""

    body: Mapping[str, Any] = field(default_factory=dict)
    reason: str = "ignored"


@dataclass(frozen=True, slots=True)
class Outbound:
    """One call to the provider's API, relative to its base URL setting."""

    path: str
    json: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


class Provider(Protocol):
    name: str
    secret_key: str  # the channel config key naming the secret that verifies its requests
    default_secret: str  # the secret's name when the config names none
    token_key: str | None  # the config key naming the secret used to send (None: no sending)
    default_token: str | None

    def verify(self, request: HookRequest, secret: str, *, now: float) -> None:
        """Raise ``hook.signature_invalid`` / ``hook.stale`` unless ``request`` is signed by
        ``secret`` (``now``: seconds since the epoch)."""
        ...

    def parse(self, body: bytes, config: Mapping[str, Any]) -> UserMessage | Answer:
        """The verified body's user message, or the answer to give the provider."""
        ...

    def reply(self, session_id: str, text: str, token: str) -> Outbound | None:
        """The call that posts ``text`` to the conversation of ``session_id`` (None: this
        provider cannot send outside its webhook's response)."""
        ...


def message_id_of(provider: str, team: str, channel: str, event_id: str) -> ids.MessageId:
    """The message id of a provider event on a channel: the same for every retry of it, so
    the bus stores it once."""
    raw = f"{provider}\x00{team}\x00{channel}\x00{event_id}".encode()
    return ids.message_id(hashlib.sha256(raw).hexdigest()[:32])


def hashed_session(prefix: str, *parts: str) -> ids.SessionId:
    """A session id naming a conversation by a digest of the provider's ids."""
    raw = "\x00".join(parts).encode()
    return ids.session_id(f"{prefix}-{hashlib.sha256(raw).hexdigest()[:40]}")

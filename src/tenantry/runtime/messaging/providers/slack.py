"""Slack's Events API: requests signed with the app's signing secret over a timestamp window
(``slack_sdk``'s verifier), the ``url_verification`` handshake, ``message`` and ``app_mention``
events; replies through ``chat.postMessage``. A conversation is a channel and a user."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from slack_sdk.signature import Clock, SignatureVerifier

from tenantry.core import ids
from tenantry.runtime.messaging.providers.errors import (
    HookBodyInvalid,
    HookSignatureInvalid,
    HookStale,
)
from tenantry.runtime.messaging.providers.schemas import (
    Answer,
    HookRequest,
    Outbound,
    UserMessage,
)

WINDOW: Final = 300  # seconds a signed request stays valid (Slack's own rule)
_SLACK_ID: Final = re.compile(r"[A-Z0-9]{1,24}")
_EVENT_ID: Final = re.compile(r"[A-Za-z0-9]{1,64}")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")
_SESSION: Final = re.compile(r"slack-([a-z0-9]{1,24})-([a-z0-9]{1,24})")
_MESSAGES: Final = frozenset({"message", "app_mention"})
_MAX_CHALLENGE: Final = 256


class _At(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


class Slack:
    name: str = "slack"
    secret_key: str = "signing_secret"  # noqa: S105 - a config key, not a secret
    default_secret: str = "slack_signing_secret"  # noqa: S105 - a secret's name
    token_key: str | None = "bot_token"  # noqa: S105 - a config key
    default_token: str | None = "slack_bot_token"  # noqa: S105 - a secret's name

    def verify(self, request: HookRequest, secret: str, *, now: float) -> None:
        """The signature first, then the window: a stale answer tells only a holder of a
        valid signature that its request is late."""
        stamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if _TIMESTAMP.fullmatch(stamp) is None or not secret.strip():
            raise HookSignatureInvalid("the request carries no valid Slack signature")
        verifier = SignatureVerifier(secret, clock=_At(now))
        try:
            expected = verifier.generate_signature(timestamp=stamp, body=request.body)
        except UnicodeDecodeError:
            expected = None
        if expected is None or not hmac.compare_digest(
            expected.encode(), signature.encode("utf-8", "replace")
        ):
            raise HookSignatureInvalid("the request carries no valid Slack signature")
        if not verifier.is_valid(request.body, stamp, signature):
            raise HookStale(
                f"the Slack request's timestamp is more than {WINDOW} s away",
                details={"window_seconds": WINDOW},
            )

    def parse(self, body: bytes, config: Mapping[str, Any]) -> UserMessage | Answer:
        payload = _object(body)
        kind = payload.get("type")
        if kind == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str) or not 0 < len(challenge) <= _MAX_CHALLENGE:
                raise HookBodyInvalid("a url_verification needs its challenge")
            return Answer({"challenge": challenge}, reason="handshake")
        if kind != "event_callback":
            return Answer(reason=f"not an event ({ids.show(kind)})")
        workspace = config.get("workspace_id")
        if workspace is not None and payload.get("team_id") != workspace:
            return Answer(reason="another workspace's event")
        return _message(payload)

    def reply(self, session_id: str, text: str, token: str) -> Outbound | None:
        found = _SESSION.fullmatch(session_id)
        if found is None:
            return None
        return Outbound(
            "/chat.postMessage",
            {"channel": found.group(1).upper(), "text": text},
            {"Authorization": f"Bearer {token}"},
        )


def _object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HookBodyInvalid("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise HookBodyInvalid("the body is not a JSON object")
    return payload


def _message(payload: Mapping[str, Any]) -> UserMessage | Answer:
    event, event_id = payload.get("event"), payload.get("event_id")
    if not isinstance(event, dict) or not isinstance(event_id, str):
        raise HookBodyInvalid("an event_callback needs its event and event_id")
    if _EVENT_ID.fullmatch(event_id) is None:
        raise HookBodyInvalid("the event_id is not a Slack event id")
    if event.get("type") not in _MESSAGES or "subtype" in event or "bot_id" in event:
        return Answer(reason="not a user's message")  # bots' messages, edits, joins...
    channel, user, text = event.get("channel"), event.get("user"), event.get("text")
    if not (isinstance(channel, str) and isinstance(user, str) and isinstance(text, str)):
        raise HookBodyInvalid("a message event needs its channel, user and text")
    if _SLACK_ID.fullmatch(channel) is None or _SLACK_ID.fullmatch(user) is None:
        raise HookBodyInvalid("the event's channel or user is not a Slack id")
    session = ids.session_id(f"slack-{channel.lower()}-{user.lower()}")
    return UserMessage(event_id, session, user, text, _sent_at(event.get("ts")))


def _sent_at(ts: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(str(ts)), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


SLACK: Final = Slack()

"""Microsoft Teams outgoing webhooks: ``Authorization: HMAC <base64>``, the HMAC-SHA256 of
the body under the webhook's base64 security token. Teams waits about 5 s for the reply in
the same HTTP response and offers no way to post later, so replies are answered there only."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from tenantry.runtime.messaging.providers.errors import HookBodyInvalid, HookSignatureInvalid
from tenantry.runtime.messaging.providers.schemas import (
    Answer,
    HookRequest,
    Outbound,
    UserMessage,
    hashed_session,
)

_MENTION: Final = re.compile(r"<at>.*?</at>", re.DOTALL)
_TAGS: Final = re.compile(r"<[^>]{0,200}>")
_MAX_ID: Final = 256


class Teams:
    name: str = "teams"
    secret_key: str = "security_token"  # noqa: S105 - a config key, not a secret
    default_secret: str = "teams_security_token"  # noqa: S105 - a secret's name
    token_key: str | None = None
    default_token: str | None = None

    def verify(self, request: HookRequest, secret: str, *, now: float) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        try:
            key = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        expected = base64.b64encode(hmac.new(key, request.body, hashlib.sha256).digest())
        if (
            not key
            or scheme != "HMAC"
            or not hmac.compare_digest(given.strip().encode("latin-1", "replace"), expected)
        ):
            raise HookSignatureInvalid("the request carries no valid Teams HMAC")

    def parse(self, body: bytes, config: Mapping[str, Any]) -> UserMessage | Answer:
        try:
            activity = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise HookBodyInvalid("the body is not JSON") from None
        if not isinstance(activity, dict):
            raise HookBodyInvalid("the body is not a JSON object")
        if activity.get("type") != "message":
            return Answer({"type": "message", "text": ""}, reason="not a message")
        event_id, text = activity.get("id"), activity.get("text")
        conversation, sender = activity.get("conversation"), activity.get("from")
        if not (
            _short(event_id)
            and isinstance(text, str)
            and isinstance(conversation, dict)
            and _short(conversation.get("id"))
            and isinstance(sender, dict)
            and _short(sender.get("id"))
        ):
            raise HookBodyInvalid("a message activity needs its id, text, conversation and from")
        session = hashed_session("teams", conversation["id"], sender["id"])
        said = _TAGS.sub("", _MENTION.sub("", text)).strip()
        return UserMessage(str(event_id), session, sender["id"], said, _sent_at(activity))

    def reply(self, session_id: str, text: str, token: str) -> Outbound | None:
        return None  # an outgoing webhook is answered in its own response only


def answer(texts: list[str]) -> dict[str, str]:
    """The synchronous reply of an outgoing webhook."""
    return {"type": "message", "text": "\n\n".join(texts)}


def _short(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_ID


def _sent_at(activity: Mapping[str, Any]) -> datetime | None:
    stamp = activity.get("timestamp")
    if not isinstance(stamp, str):
        return None
    try:
        found = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo is not None else None


TEAMS: Final = Teams()

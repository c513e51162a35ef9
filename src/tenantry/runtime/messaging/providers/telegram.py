"""Telegram's Bot API webhooks: the ``X-Telegram-Bot-Api-Secret-Token`` header set with
``setWebhook``, ``message`` updates; replies through ``sendMessage``. A conversation is a chat
(and, in groups, a user of it)."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from tenantry.core import ids
from tenantry.runtime.messaging.providers.errors import HookBodyInvalid, HookSignatureInvalid
from tenantry.runtime.messaging.providers.schemas import (
    Answer,
    HookRequest,
    Outbound,
    UserMessage,
)

_HEADER: Final = "x-telegram-bot-api-secret-token"
_SESSION: Final = re.compile(r"tg-(n?)([0-9]{1,20})(?:-u[0-9]{1,20})?")
_TOKEN: Final = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,80}")  # goes into the URL path
_MAX_ID: Final = 10**19


class Telegram:
    name: str = "telegram"
    secret_key: str = "secret_token"  # noqa: S105 - a config key, not a secret
    default_secret: str = "telegram_secret_token"  # noqa: S105 - a secret's name
    token_key: str | None = "bot_token"  # noqa: S105 - a config key
    default_token: str | None = "telegram_bot_token"  # noqa: S105 - a secret's name

    def verify(self, request: HookRequest, secret: str, *, now: float) -> None:
        given = request.headers.get(_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            raise HookSignatureInvalid("the request carries no valid Telegram secret token")

    def parse(self, body: bytes, config: Mapping[str, Any]) -> UserMessage | Answer:
        try:
            update = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise HookBodyInvalid("the body is not JSON") from None
        if not isinstance(update, dict) or not _integer(update.get("update_id")):
            raise HookBodyInvalid("an update needs its update_id")
        message = update.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            return Answer(reason="not a text message")
        chat, sender = message.get("chat"), message.get("from")
        if not isinstance(chat, dict) or not _integer(chat.get("id")):
            raise HookBodyInvalid("a message needs its chat")
        if not isinstance(sender, dict) or not _integer(sender.get("id")) or sender.get("is_bot"):
            return Answer(reason="not a user's message")
        session = _session(chat["id"], sender["id"], private=chat.get("type") == "private")
        return UserMessage(
            str(update["update_id"]),
            session,
            str(sender["id"]),
            message["text"],
            _sent_at(message.get("date")),
        )

    def reply(self, session_id: str, text: str, token: str) -> Outbound | None:
        found = _SESSION.fullmatch(session_id)
        if found is None or _TOKEN.fullmatch(token) is None:
            return None
        chat = int(found.group(2)) * (-1 if found.group(1) else 1)
        return Outbound(f"/bot{token}/sendMessage", {"chat_id": chat, "text": text})


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < _MAX_ID


def _session(chat: int, user: int, *, private: bool) -> ids.SessionId:
    sign = "n" if chat < 0 else ""
    member = "" if private else f"-u{abs(user)}"
    return ids.session_id(f"tg-{sign}{abs(chat)}{member}")


def _sent_at(date: object) -> datetime | None:
    return datetime.fromtimestamp(date, tz=UTC) if _integer(date) else None  # type: ignore[arg-type]


TELEGRAM: Final = Telegram()

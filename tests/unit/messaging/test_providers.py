"""The providers' pure parts: verification (with an injected clock), events as user messages,
conversations as session ids and back, and the outbound call of each reply."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.core import ids
from tenantry.runtime.messaging.providers import WEBCHAT, provider_of
from tenantry.runtime.messaging.providers.errors import (
    HookBodyInvalid,
    HookSignatureInvalid,
    HookStale,
)
from tenantry.runtime.messaging.providers.schemas import (
    Answer,
    HookRequest,
    UserMessage,
    message_id_of,
)
from tenantry.runtime.messaging.providers.slack import SLACK
from tenantry.runtime.messaging.providers.teams import TEAMS
from tenantry.runtime.messaging.providers.telegram import TELEGRAM

NOW = 1_800_000_000.0


def slack_request(secret: str, body: bytes, stamp: int = int(NOW)) -> HookRequest:
    mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return HookRequest(
        {"x-slack-request-timestamp": str(stamp), "x-slack-signature": f"v0={mac}"}, body
    )


def test_providers_are_found_by_their_manifest_names() -> None:
    assert provider_of("messaging-slack") is provider_of("slack") is SLACK
    assert provider_of("messaging-telegram") is TELEGRAM
    assert provider_of("messaging-teams") is TEAMS
    assert provider_of("messaging-webchat") is None and "messaging-webchat" in WEBCHAT
    assert provider_of("discord") is None


def test_slack_verifies_within_its_window_and_says_stale_outside() -> None:
    body = b'{"type":"event_callback"}'
    SLACK.verify(slack_request("s3cret", body), "s3cret", now=NOW)
    SLACK.verify(slack_request("s3cret", body, int(NOW) - 300), "s3cret", now=NOW)
    with pytest.raises(HookStale):
        SLACK.verify(slack_request("s3cret", body, int(NOW) - 301), "s3cret", now=NOW)
    with pytest.raises(HookSignatureInvalid):  # a forgery is never told it is late
        SLACK.verify(slack_request("other", body, int(NOW) - 301), "s3cret", now=NOW)
    with pytest.raises(HookSignatureInvalid):
        SLACK.verify(slack_request("s3cret", body), "   ", now=NOW)  # an empty secret


def test_slack_events_become_user_messages_of_a_channel_and_user() -> None:
    event = {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": "Ev9",
        "event": {"type": "app_mention", "channel": "C77", "user": "U5", "text": "hey", "ts": "2"},
    }
    found = SLACK.parse(json.dumps(event).encode(), {"workspace_id": "T1"})
    assert found == UserMessage("Ev9", ids.SessionId("slack-c77-u5"), "U5", "hey", found.sent_at)
    assert isinstance(SLACK.parse(json.dumps(event).encode(), {"workspace_id": "T2"}), Answer)
    event["event"]["user"] = "u5; DROP"
    with pytest.raises(HookBodyInvalid):
        SLACK.parse(json.dumps(event).encode(), {})


def test_telegram_compares_its_secret_token() -> None:
    TELEGRAM.verify(HookRequest({"x-telegram-bot-api-secret-token": "tok"}, b""), "tok", now=0)
    for sent in ({"x-telegram-bot-api-secret-token": "tik"}, {}):
        with pytest.raises(HookSignatureInvalid):
            TELEGRAM.verify(HookRequest(sent, b""), "tok", now=0)
    with pytest.raises(HookSignatureInvalid):
        TELEGRAM.verify(HookRequest({"x-telegram-bot-api-secret-token": ""}, b""), "", now=0)


@pytest.mark.parametrize(
    "update",
    [{"update_id": True}, {"update_id": "1"}, {"message": {}}, [], {"update_id": 10**20}],
)
def test_telegram_refuses_what_is_no_update(update: object) -> None:
    with pytest.raises(HookBodyInvalid):
        TELEGRAM.parse(json.dumps(update).encode(), {})


def test_telegram_ignores_bots_and_non_text_messages() -> None:
    bot = {
        "update_id": 1,
        "message": {"text": "x", "chat": {"id": 1}, "from": {"id": 2, "is_bot": True}},
    }
    photo = {"update_id": 2, "message": {"photo": [], "chat": {"id": 1}, "from": {"id": 2}}}
    for update in (bot, photo):
        assert isinstance(TELEGRAM.parse(json.dumps(update).encode(), {}), Answer)


@given(
    chat=st.integers(-(10**18), 10**18),
    user=st.integers(1, 10**18),
    private=st.booleans(),
    text=st.text(max_size=20),
)
def test_a_telegram_reply_goes_back_to_the_chat_it_answers(
    chat: int, user: int, private: bool, text: str
) -> None:
    update = {
        "update_id": 1,
        "message": {
            "text": text,
            "chat": {"id": chat, "type": "private" if private else "group"},
            "from": {"id": user},
        },
    }
    found = TELEGRAM.parse(json.dumps(update).encode(), {})
    assert isinstance(found, UserMessage)
    token = "123:" + "A" * 30
    outbound = TELEGRAM.reply(found.session_id, "ok", token)
    assert outbound is not None
    assert outbound.json == {"chat_id": chat, "text": "ok"}


@given(
    channel=st.from_regex(r"[A-Z0-9]{1,24}", fullmatch=True),
    user=st.from_regex(r"[A-Z0-9]{1,24}", fullmatch=True),
)
def test_a_slack_reply_goes_back_to_the_channel_it_answers(channel: str, user: str) -> None:
    event = {
        "type": "event_callback",
        "event_id": "Ev1",
        "event": {"type": "message", "channel": channel, "user": user, "text": "x"},
    }
    found = SLACK.parse(json.dumps(event).encode(), {})
    assert isinstance(found, UserMessage)
    outbound = SLACK.reply(found.session_id, "ok", "xoxb-1")
    assert outbound is not None and outbound.json == {"channel": channel, "text": "ok"}


@pytest.mark.parametrize("token", ["123:short", "../../x:" + "a" * 30, "1:" + "a" * 30 + "?x=1"])
def test_a_telegram_token_that_would_change_the_url_is_not_used(token: str) -> None:
    assert TELEGRAM.reply("tg-5", "hi", token) is None


def test_teams_verifies_the_hmac_of_the_body() -> None:
    key = base64.b64encode(b"k" * 32).decode()
    body = b'{"type":"message"}'
    mac = base64.b64encode(hmac.new(b"k" * 32, body, hashlib.sha256).digest()).decode()
    TEAMS.verify(HookRequest({"authorization": f"HMAC {mac}"}, body), key, now=0)
    for headers, secret in (
        ({"authorization": f"HMAC {mac}"}, base64.b64encode(b"j" * 32).decode()),
        ({"authorization": f"Bearer {mac}"}, key),
        ({"authorization": f"HMAC {mac}"}, "not base64!"),
        ({}, key),
    ):
        with pytest.raises(HookSignatureInvalid):
            TEAMS.verify(HookRequest(headers, body), secret, now=0)
    assert TEAMS.reply("teams-x", "late", "") is None  # no way to post later


def test_message_ids_are_the_same_for_a_retry_and_differ_by_channel() -> None:
    one = message_id_of("slack", "support", "slack", "Ev1")
    assert one == message_id_of("slack", "support", "slack", "Ev1")
    assert one != message_id_of("slack", "support", "slack-2", "Ev1")
    assert one != message_id_of("telegram", "support", "slack", "Ev1")
    assert ids.message_id(one) == one

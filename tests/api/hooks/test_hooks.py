"""Provider webhooks: verified with the channel's own secret before anything is published or
counted against the tenant; retries stored once; bad, stale, foreign or forged requests 401."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from tenantry.bootstrap import Services
from tenantry.tenancy.registry.models import TenantRow
from tests.api.hooks.support import (
    NOW,
    Keys,
    answer,
    ctx,
    encoded,
    hook,
    ingress,
    install_hooks,
    slack_event,
    slack_headers,
    teams_activity,
    teams_headers,
    telegram_headers,
    telegram_update,
)

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code


async def test_a_signed_slack_message_is_published_on_the_channel_ingress(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    body = encoded(slack_event("where is my order?"))
    response = await http.post(
        hook("acme", "slack"), content=body, headers=slack_headers(keys["acme"].slack, body)
    )
    assert response.status_code == 200, response.text
    [message] = await ingress(wired.bus, "acme")
    assert (message.tenant_id, message.team_id, message.channel_id) == ("acme", "support", "slack")
    assert (message.session_id, message.user_id) == ("slack-c0001-u0001", "U0001")
    assert message.text == "where is my order?"
    assert await ingress(wired.bus, "bigcorp") == []
    session = await (await wired.scopes.open(ctx("acme"))).team.sessions.get(message.session_id)
    assert session.channel_id == "slack"


async def test_slack_retries_are_answered_200_and_stored_once(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    body = encoded(slack_event("once"))
    for retry in (None, "1", "2"):
        headers = slack_headers(keys["acme"].slack, body)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        response = await http.post(hook("acme", "slack"), content=body, headers=headers)
        assert response.status_code == 200, response.text
    assert [m.text for m in await ingress(wired.bus, "acme")] == ["once"]


async def test_the_url_verification_handshake_answers_its_challenge(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    body = encoded({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9C"})
    response = await http.post(
        hook("acme", "slack"), content=body, headers=slack_headers(keys["acme"].slack, body)
    )
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9C"}
    unsigned = await http.post(hook("acme", "slack"), content=body)
    assert_problem(unsigned, 401, "hook.signature_invalid")
    assert await ingress(wired.bus, "acme") == []


@pytest.mark.parametrize(
    "tamper",
    ["secret", "body", "timestamp", "no-signature", "garbage-timestamp", "bad-utf8"],
)
async def test_a_bad_slack_signature_is_401_and_publishes_nothing(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys], tamper: str
) -> None:
    body = encoded(slack_event())
    headers = slack_headers(keys["acme"].slack, body)
    if tamper == "secret":
        headers = slack_headers("not-the-secret", body)
    elif tamper == "body":
        body = encoded(slack_event("changed"))
    elif tamper == "timestamp":
        headers["X-Slack-Request-Timestamp"] = str(int(NOW) + 1)
    elif tamper == "no-signature":
        del headers["X-Slack-Signature"]
    elif tamper == "garbage-timestamp":
        headers["X-Slack-Request-Timestamp"] = "soon"
    else:
        body = b"\xff\xfe" + body
    response = await http.post(hook("acme", "slack"), content=body, headers=headers)
    assert_problem(response, 401, "hook.signature_invalid")
    assert await ingress(wired.bus, "acme") == []


async def test_a_stale_slack_request_is_401_even_when_signed(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    body = encoded(slack_event())
    for at in (NOW - 301, NOW + 301):
        headers = slack_headers(keys["acme"].slack, body, at=at)
        response = await http.post(hook("acme", "slack"), content=body, headers=headers)
        assert_problem(response, 401, "hook.stale")
    within = slack_headers(keys["acme"].slack, body, at=NOW - 299)
    assert (await http.post(hook("acme", "slack"), content=body, headers=within)).status_code == 200
    assert len(await ingress(wired.bus, "acme")) == 1


async def test_a_tenants_secret_never_verifies_another_tenants_hook(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    """A hook URL naming bigcorp, signed with acme's secrets: 401, nothing anywhere."""
    acme = keys["acme"]
    slack = encoded(slack_event())
    telegram = encoded(telegram_update())
    teams = encoded(teams_activity())
    attempts = [
        (hook("bigcorp", "slack"), slack, slack_headers(acme.slack, slack)),
        (hook("bigcorp", "telegram"), telegram, telegram_headers(acme.telegram)),
        (hook("bigcorp", "teams"), teams, teams_headers(acme.teams, teams)),
    ]
    for path, body, headers in attempts:
        assert_problem(
            await http.post(path, content=body, headers=headers), 401, "hook.signature_invalid"
        )
    assert await ingress(wired.bus, "bigcorp") == []
    assert await ingress(wired.bus, "acme") == []


@pytest.mark.parametrize(
    "path",
    [
        "/hooks/nosuchco/prod/support/slack",  # no such tenant
        "/hooks/acme/staging/support/slack",  # no such environment
        "/hooks/acme/prod/sales/slack",  # no such team
        "/hooks/acme/prod/support/discord",  # no such channel
        "/hooks/acme/prod/support/webchat",  # a channel without provider webhooks
        "/hooks/acme/prod/default/slack",  # the default team has no channels
    ],
)
async def test_a_hook_that_names_nothing_is_the_same_401(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys], path: str
) -> None:
    body = encoded(slack_event())
    response = await http.post(path, content=body, headers=slack_headers(keys["acme"].slack, body))
    assert_problem(response, 401, "hook.signature_invalid")
    assert await ingress(wired.bus, "acme") == []


@pytest.mark.parametrize(
    "path",
    ["/hooks/ACME/prod/support/slack", "/hooks/acme/prod/support/sl%20ack", "/hooks/a.b/prod/x/y"],
)
async def test_bad_ids_in_a_hook_url_are_400(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys], path: str
) -> None:
    body = encoded(slack_event())
    response = await http.post(path, content=body, headers=slack_headers(keys["acme"].slack, body))
    assert_problem(response, 400, "id.invalid")
    assert await ingress(wired.bus, "acme") == []


async def test_a_signed_body_that_is_no_event_is_400_and_publishes_nothing(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    for body in (
        b"not json",
        b"[1, 2]",
        encoded({"type": "event_callback", "team_id": "T0001", "event_id": "Ev1"}),
    ):
        headers = slack_headers(keys["acme"].slack, body)
        response = await http.post(hook("acme", "slack"), content=body, headers=headers)
        assert_problem(response, 400, "hook.body_invalid")
    assert await ingress(wired.bus, "acme") == []


async def test_bot_messages_and_other_workspaces_are_answered_and_ignored(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    bot = slack_event()
    bot["event"]["bot_id"] = "B0001"
    other = slack_event() | {"team_id": "T9999"}
    for payload in (bot, other):
        body = encoded(payload)
        headers = slack_headers(keys["acme"].slack, body)
        assert (
            await http.post(hook("acme", "slack"), content=body, headers=headers)
        ).status_code == 200
    assert await ingress(wired.bus, "acme") == []


async def test_telegram_updates_are_verified_by_their_secret_token(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    body = encoded(telegram_update("bonjour", update_id=10))
    wrong = await http.post(hook("acme", "telegram"), content=body, headers=telegram_headers("x"))
    assert_problem(wrong, 401, "hook.signature_invalid")
    missing = await http.post(hook("acme", "telegram"), content=body)
    assert_problem(missing, 401, "hook.signature_invalid")
    for _ in range(2):  # Telegram redelivers an update until it gets a 2xx
        headers = telegram_headers(keys["acme"].telegram)
        assert (
            await http.post(hook("acme", "telegram"), content=body, headers=headers)
        ).status_code == 200
    [message] = await ingress(wired.bus, "acme")
    assert (message.channel_id, message.session_id, message.user_id) == (
        "telegram",
        "tg-n100123-u42",
        "42",
    )
    assert message.text == "bonjour"


async def test_teams_is_answered_in_its_response_when_the_reply_comes_in_time(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    async def runner() -> None:  # what the runner does: reply on egress
        while not (found := await ingress(wired.bus, "acme", wait=0.05)):
            pass
        await answer(wired.bus, found[0], "first")
        await answer(wired.bus, found[0], "second", index=1)

    body = encoded(teams_activity("<at>Helper</at> hi there"))
    replying = asyncio.create_task(runner())
    response = await http.post(
        hook("acme", "teams"), content=body, headers=teams_headers(keys["acme"].teams, body)
    )
    await replying
    assert response.status_code == 200, response.text
    assert response.json() == {"type": "message", "text": "first\n\nsecond"}


async def test_teams_without_a_reply_in_time_gets_an_empty_answer(
    app: FastAPI, http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    install_hooks(app, wired, reply_wait=0.2)
    body = encoded(teams_activity("hi"))
    response = await http.post(
        hook("acme", "teams"), content=body, headers=teams_headers(keys["acme"].teams, body)
    )
    assert response.json() == {"type": "message", "text": ""}
    [message] = await ingress(wired.bus, "acme")
    assert message.text == "hi"  # the mention stripped, the message accepted
    bad = await http.post(hook("acme", "teams"), content=body, headers={"Authorization": "HMAC x"})
    assert_problem(bad, 401, "hook.signature_invalid")


async def test_a_suspended_tenants_verified_message_is_accepted_and_held(
    http: httpx.AsyncClient, wired: Services, keys: dict[str, Keys]
) -> None:
    async with wired.engine.begin() as db:
        await db.execute(
            update(TenantRow).where(TenantRow.id == "acme").values(lifecycle_state="suspended")
        )
    body = encoded(slack_event("are you there?"))
    response = await http.post(
        hook("acme", "slack"), content=body, headers=slack_headers(keys["acme"].slack, body)
    )
    assert response.status_code == 200, response.text
    assert [m.text for m in await ingress(wired.bus, "acme")] == ["are you there?"]
    forged = await http.post(hook("acme", "slack"), content=body, headers=slack_headers("x", body))
    assert_problem(forged, 401, "hook.signature_invalid")


async def test_forged_calls_are_limited_by_address_not_against_the_tenant(
    app: FastAPI, wired: Services, keys: dict[str, Keys]
) -> None:
    """A flood of forgeries from one address ends in 429 there; the provider's real calls
    from its own address still go through."""
    body = encoded(slack_event())
    forger = httpx.ASGITransport(app=app, client=("198.51.100.66", 1))
    provider = httpx.ASGITransport(app=app, client=("203.0.113.7", 1))
    burst = wired.settings.door_address_burst
    async with httpx.AsyncClient(transport=forger, base_url="http://test") as http:
        statuses = [
            (
                await http.post(
                    hook("acme", "slack"), content=body, headers=slack_headers("x", body)
                )
            ).status_code
            for _ in range(burst * 2)
        ]
    assert statuses[0] == 401 and statuses[-1] == 429 and set(statuses) == {401, 429}
    async with httpx.AsyncClient(transport=provider, base_url="http://test") as http:
        headers = slack_headers(keys["acme"].slack, body)
        assert (
            await http.post(hook("acme", "slack"), content=body, headers=headers)
        ).status_code == 200
    assert len(await ingress(wired.bus, "acme")) == 1

"""Webchat messages: post, long-poll, event streams; bad input changes nothing."""

from __future__ import annotations

import asyncio

import httpx

from tenantry.bootstrap import Services
from tenantry.core import names
from tenantry.tenancy.access.schemas import Role
from tests.api.webchat.support import CHANNEL, answer, caller, suspend

MESSAGES = f"/api/v1/channels/{CHANNEL}/messages"
EVENTS = f"/api/v1/channels/{CHANNEL}/events"


async def test_a_message_is_published_and_its_replies_are_read_by_position(
    chat: Services, http: httpx.AsyncClient
) -> None:
    member = await caller(chat, "acme", Role.TEAM_MEMBER)
    posted = await http.post(
        MESSAGES, json={"user_id": "u-1", "text": "hello"}, headers=member.headers()
    )
    assert posted.status_code == 202, posted.text
    accepted = posted.json()
    assert set(accepted) == {"message_id", "session_id"}
    [message] = await answer(chat, "acme", ["one: {text}", "two"])
    assert (message.message_id, message.session_id) == (
        accepted["message_id"],
        accepted["session_id"],
    )
    assert (message.tenant_id, message.team_id, message.channel_id) == ("acme", "support", CHANNEL)
    params = {"session_id": accepted["session_id"]}
    got = await http.get(MESSAGES, params=params, headers=member.headers())
    assert got.status_code == 200, got.text
    body = got.json()
    assert [(m["position"], m["text"]) for m in body["messages"]] == [(0, "one: hello"), (1, "two")]
    assert {m["in_reply_to"] for m in body["messages"]} == {accepted["message_id"]}
    assert body["next_after"] == 1
    later = await http.get(MESSAGES, params={**params, "after": "0"}, headers=member.headers())
    assert [m["position"] for m in later.json()["messages"]] == [1]
    again = await http.post(
        MESSAGES,
        json={"user_id": "u-1", "text": "more", "session_id": accepted["session_id"]},
        headers=member.headers(),
    )
    assert again.json()["session_id"] == accepted["session_id"]
    await answer(chat, "acme", ["three"])
    last = await http.get(MESSAGES, params={**params, "after": "1"}, headers=member.headers())
    assert [(m["position"], m["text"]) for m in last.json()["messages"]] == [(2, "three")]


async def test_a_long_poll_wakes_on_the_reply(chat: Services, http: httpx.AsyncClient) -> None:
    member = await caller(chat, "acme", Role.TEAM_MEMBER)
    headers = member.headers()
    posted = await http.post(MESSAGES, json={"user_id": "u", "text": "hi"}, headers=headers)
    session = posted.json()["session_id"]
    params = {"session_id": session, "wait": "30"}
    poll = asyncio.create_task(http.get(MESSAGES, params=params, headers=headers))
    await asyncio.sleep(0.2)  # the poll is waiting (the reply is not recorded yet)
    assert not poll.done()
    await answer(chat, "acme", ["woken"])
    got = await asyncio.wait_for(poll, 20)  # a safety bound, far below the poll's 30 s
    assert [m["text"] for m in got.json()["messages"]] == ["woken"]


def events_of(text: str) -> list[tuple[int, str]]:
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "id" in fields:
            found.append((int(fields["id"]), fields["data"]))
    return found


async def test_the_event_stream_resumes_after_last_event_id(
    chat: Services, http: httpx.AsyncClient
) -> None:
    member = await caller(chat, "acme", Role.TEAM_MEMBER)
    headers = member.headers()
    posted = await http.post(MESSAGES, json={"user_id": "u", "text": "x"}, headers=headers)
    session = posted.json()["session_id"]
    await answer(chat, "acme", ["a", "b", "c"])
    params = {"session_id": session, "wait": "0"}
    whole = await http.get(EVENTS, params=params, headers=headers)
    assert whole.status_code == 200, whole.text
    assert whole.headers["content-type"].startswith("text/event-stream")
    assert [i for i, _ in events_of(whole.text)] == [0, 1, 2]
    resumed = await http.get(EVENTS, params=params, headers=headers | {"Last-Event-ID": "0"})
    assert [(i, '"text":"' in d) for i, d in events_of(resumed.text)] == [(1, True), (2, True)]
    assert '"text":"c"' in events_of(resumed.text)[-1][1]


async def test_the_event_stream_sends_replies_as_they_come(
    chat: Services, http: httpx.AsyncClient
) -> None:
    member = await caller(chat, "acme", Role.TEAM_MEMBER)
    headers = member.headers()
    posted = await http.post(MESSAGES, json={"user_id": "u", "text": "x"}, headers=headers)
    params = {"session_id": posted.json()["session_id"], "wait": "1.5"}
    stream = asyncio.create_task(http.get(EVENTS, params=params, headers=headers))
    await asyncio.sleep(0.2)
    await answer(chat, "acme", ["live"])
    got = await asyncio.wait_for(stream, 20)
    assert [i for i, _ in events_of(got.text)] == [0]


async def test_bad_input_is_refused_and_publishes_nothing(
    chat: Services, http: httpx.AsyncClient
) -> None:
    member = await caller(chat, "acme", Role.TEAM_MEMBER)
    headers = member.headers()
    cases = [
        ("post", MESSAGES, {"json": {"user_id": "u", "text": "x" * 20_000}}, 400),
        ("post", MESSAGES, {"json": {"user_id": "u", "text": "x", "extra": 1}}, 400),
        ("post", MESSAGES, {"json": {"text": "no user"}}, 400),
        ("post", MESSAGES, {"json": {"user_id": "u\r\nx", "text": "x"}}, 400),
        ("post", MESSAGES, {"json": {"user_id": "u", "text": "x", "session_id": "A.B"}}, 400),
        ("post", MESSAGES, {"json": {"user_id": "u", "text": "x", "session_id": "nope"}}, 404),
        ("post", "/api/v1/channels/We%20b/messages", {"json": {"user_id": "u", "text": "x"}}, 400),
        ("post", "/api/v1/channels/a.%3E/messages", {"json": {"user_id": "u", "text": "x"}}, 400),
        ("post", "/api/v1/channels/slack/messages", {"json": {"user_id": "u", "text": "x"}}, 404),
        ("get", MESSAGES, {"params": {"session_id": "nope"}}, 404),
        ("get", MESSAGES, {"params": {"session_id": "a*b"}}, 400),
        ("get", MESSAGES, {"params": {"session_id": "s", "after": "-1"}}, 400),
        ("get", MESSAGES, {"params": {"session_id": "s", "wait": "1000"}}, 400),
        ("get", EVENTS, {"params": {"session_id": "nope", "wait": "0"}}, 404),
    ]
    for method, path, options, status in cases:
        response = await http.request(method.upper(), path, headers=headers, **options)
        assert response.status_code == status, (path, options, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    left = await chat.bus.fetch(names.Direction.INGRESS, "acme", "prod", batch=10, wait=0.05)
    assert left == []
    sessions = await http.get("/api/v1/sessions", headers=headers)
    assert sessions.json()["items"] == []


async def test_a_viewer_reads_but_does_not_post_and_a_suspended_tenant_is_423(
    chat: Services, http: httpx.AsyncClient
) -> None:
    viewer = await caller(chat, "acme", Role.VIEWER)
    refused = await http.post(
        MESSAGES, json={"user_id": "u", "text": "x"}, headers=viewer.headers()
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.role_forbidden")
    member = await caller(chat, "acme", Role.TEAM_MEMBER)
    await suspend(chat, "acme")
    locked = await http.post(MESSAGES, json={"user_id": "u", "text": "x"}, headers=member.headers())
    assert (locked.status_code, locked.json()["code"]) == (423, "tenant.suspended")
    left = await chat.bus.fetch(names.Direction.INGRESS, "acme", "prod", batch=10, wait=0.05)
    assert left == []

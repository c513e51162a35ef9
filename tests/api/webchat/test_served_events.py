"""Over a real socket (loopback): an event stream delivers a reply while it stays open, and a
client resumes with ``Last-Event-ID`` as an ``EventSource`` does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from httpx_sse import aconnect_sse

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tenantry.cli.commands.serve import server_config
from tenantry.tenancy.access.schemas import Role
from tests.api.webchat.support import CHANNEL, answer, caller, mint, visitor


@pytest.fixture
async def served(chat: Services) -> AsyncIterator[str]:
    app = create_app(chat.settings, services=chat)
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=0))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no "listening" event
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_a_visitor_follows_its_conversation_live_and_resumes(
    chat: Services, served: str
) -> None:
    admin = await caller(chat, "acme", Role.TEAM_ADMIN)
    async with httpx.AsyncClient(base_url=served, timeout=20) as http:
        minted = await mint(http, admin)
        headers = visitor(minted)
        posted = await http.post(
            f"/api/v1/channels/{CHANNEL}/messages", json={"text": "one"}, headers=headers
        )
        assert posted.status_code == 202, posted.text
        events = f"/api/v1/channels/{CHANNEL}/events"
        params = {"session_id": minted["session_id"], "wait": "30"}
        async with aconnect_sse(http, "GET", events, params=params, headers=headers) as source:
            stream = source.aiter_sse()
            await answer(chat, "acme", ["first {text}"])
            first = await asyncio.wait_for(anext(stream), 15)  # long before the 30 s end
            assert (first.id, first.event, first.json()["text"]) == ("0", "message", "first one")
        await http.post(
            f"/api/v1/channels/{CHANNEL}/messages", json={"text": "two"}, headers=headers
        )
        await answer(chat, "acme", ["second {text}"])
        resumed = {**params, "wait": "0"}
        async with aconnect_sse(
            http, "GET", events, params=resumed, headers=headers | {"Last-Event-ID": first.id}
        ) as source:
            rest = [event async for event in source.aiter_sse()]
        assert [(e.id, e.json()["text"]) for e in rest] == [("1", "second two")]

"""Long-polls and event streams: their own per-tenant connection limit, closed by a suspend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tenantry.tenancy.access.schemas import Role
from tests.api.webchat.support import CHANNEL, caller, setup

MESSAGES = f"/api/v1/channels/{CHANNEL}/messages"


@pytest.fixture
async def narrow(wired: Services) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """Both tenants with one long-lived connection each."""
    await setup(wired, max_connections=1)
    transport = httpx.ASGITransport(app=create_app(services=wired))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield wired, client


async def _waiting(
    http: httpx.AsyncClient, headers: dict[str, str], session: str
) -> asyncio.Task[httpx.Response]:
    poll = asyncio.create_task(
        http.get(MESSAGES, params={"session_id": session, "wait": "30"}, headers=headers)
    )
    await asyncio.sleep(0.2)
    assert not poll.done()
    return poll


async def test_past_the_connection_limit_a_long_poll_is_429_and_other_requests_go_on(
    narrow: tuple[Services, httpx.AsyncClient],
) -> None:
    services, http = narrow
    member = await caller(services, "acme", Role.TEAM_MEMBER)
    headers = member.headers()
    posted = await http.post(MESSAGES, json={"user_id": "u", "text": "x"}, headers=headers)
    session = posted.json()["session_id"]
    poll = await _waiting(http, headers, session)
    second = await http.get(MESSAGES, params={"session_id": session}, headers=headers)
    assert (second.status_code, second.json()["code"]) == (429, "concurrency.limited")
    assert "long-lived connections" in second.json()["detail"]
    assert "Retry-After" in second.headers
    stream = await http.get(
        f"/api/v1/channels/{CHANNEL}/events", params={"session_id": session}, headers=headers
    )
    assert stream.status_code == 429
    # the tenant's other requests, and the other tenant's connections, are not affected
    assert (await http.get("/api/v1/sessions", headers=headers)).status_code == 200
    b = await caller(services, "bigcorp", Role.TEAM_MEMBER)
    b_post = await http.post(MESSAGES, json={"user_id": "u", "text": "x"}, headers=b.headers())
    b_session = b_post.json()["session_id"]
    b_poll = await http.get(MESSAGES, params={"session_id": b_session}, headers=b.headers())
    assert b_poll.status_code == 200, b_poll.text
    # a suspend's drain closes the open long-poll (423), and its slot is free again
    await services.fence.inflight.drain("acme")
    closed = await asyncio.wait_for(poll, 20)
    assert (closed.status_code, closed.json()["code"]) == (423, "connection.closed_by_fence")
    again = await http.get(MESSAGES, params={"session_id": session}, headers=headers)
    assert again.status_code == 200, again.text

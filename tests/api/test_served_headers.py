"""The API as ``tenantry up`` serves it, over a real socket: no ``server`` header, and a path
with a trailing slash is a 404 problem, never a redirect to a host the client named."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tenantry.cli.commands.serve import server_config


@pytest.fixture
async def served(wired: Services) -> AsyncIterator[str]:
    app = create_app(wired.settings, services=wired)
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


async def test_no_server_header(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert "server" not in response.headers


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_trailing_slash_is_a_404_not_a_redirect_to_the_host_header(
    served: str, method: str
) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        response = await http.request(method, "/api/v1/sessions/", headers={"Host": "evil.example"})
    assert response.status_code == 404, response.headers
    assert "location" not in response.headers
    assert "evil.example" not in response.text
    problem = response.json()
    assert problem["code"] == "route.not_found"
    assert "trailing slash" in problem["detail"]

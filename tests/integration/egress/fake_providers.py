"""A local server speaking Slack's and Telegram's Web API wire format, on loopback: it records
every call and answers from a script (default: the provider's success answer)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass(slots=True)
class Call:
    path: str
    headers: dict[str, str]
    json: Any


@dataclass(slots=True)
class FakeProviders:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    script: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)

    def then(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next call with this (calls past the script succeed)."""
        self.script.append((status, body, headers or {}))

    async def _answer(self, request: Request) -> JSONResponse:
        self.calls.append(Call(request.url.path, dict(request.headers), await request.json()))
        if self.script:
            status, body, headers = self.script.pop(0)
            return JSONResponse(body, status_code=status, headers=headers)
        if request.url.path.startswith("/slack/"):
            return JSONResponse({"ok": True, "channel": "C0001", "ts": "1.1"})
        return JSONResponse({"ok": True, "result": {"message_id": 1}})


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[FakeProviders]:
    fake = FakeProviders()
    app = Starlette(routes=[Route("/{rest:path}", fake._answer, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no "listening" event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        await task

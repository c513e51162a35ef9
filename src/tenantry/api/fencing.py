"""The fence's HTTP glue: a tenant request's hold is taken by the access dependency before the
scope reads the tenant's state, and given back here once the app has answered and returned
(a streamed body included), so a suspend's drain waits for the request's last write."""

from __future__ import annotations

from typing import Final, Protocol

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tenantry.tenancy.lifecycle.fence.inflight import Hold

STATE_KEY: Final = "fence_hold"


def remember(request: Request, hold: Hold) -> None:
    """Keep the request's hold for :class:`ReleasedAtEnd` to release; a request checked
    twice keeps its first hold (taken before either state read) and gives the second back."""
    if isinstance(getattr(request.state, STATE_KEY, None), Hold):
        hold.release()
        return
    setattr(request.state, STATE_KEY, hold)


class Releasable(Protocol):
    def release(self) -> None: ...


class ReleasedAtEnd:
    """ASGI middleware: release what a request kept in its state under ``key`` (a fence hold,
    a connection slot) once the app is done with it, streamed body included, however it ended."""

    def __init__(self, app: ASGIApp, *, key: str = STATE_KEY) -> None:
        self.app, self.key = app, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            kept: Releasable | None = scope.get("state", {}).get(self.key)
            if kept is not None:
                kept.release()

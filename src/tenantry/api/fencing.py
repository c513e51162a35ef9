"""The fence's HTTP glue: a tenant request's hold is taken by the access dependency before the
scope reads the tenant's state, and given back here once the app has answered and returned
(a streamed body included), so a suspend's drain waits for the request's last write."""

from __future__ import annotations

from typing import Final

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tenantry.tenancy.lifecycle.fence.inflight import Hold

STATE_KEY: Final = "fence_hold"


def remember(request: Request, hold: Hold) -> None:
    """Keep the request's hold for :class:`FenceMiddleware` to release; a request checked
    twice keeps its first hold (taken before either state read) and gives the second back."""
    if isinstance(getattr(request.state, STATE_KEY, None), Hold):
        hold.release()
        return
    setattr(request.state, STATE_KEY, hold)


class FenceMiddleware:
    """Release the request's hold when the app is done with it (however it ended)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            hold = scope.get("state", {}).get(STATE_KEY)
            if isinstance(hold, Hold):
                hold.release()

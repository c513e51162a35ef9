"""The fence's HTTP glue: a request keeps one hold, released when the app is done with it."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from tenantry.api import fencing
from tenantry.tenancy.lifecycle.fence.inflight import InFlight


@pytest.mark.parametrize("fails", [False, True])
async def test_the_hold_is_released_when_the_app_returns_or_fails(fails: bool) -> None:
    inflight = InFlight()
    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        fencing.remember(request, inflight.hold("acme"))
        fencing.remember(request, inflight.hold("acme"))  # checked twice: one hold kept
        seen.append(inflight.count("acme"))
        if fails:
            raise RuntimeError("the route failed")

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    async def send(message: object) -> None:
        del message

    scope: Scope = {"type": "http", "state": {}, "headers": []}
    middleware = fencing.ReleasedAtEnd(app)
    if fails:
        with pytest.raises(RuntimeError):
            await middleware(scope, receive, send)
    else:
        await middleware(scope, receive, send)
    assert seen == [1] and inflight.count("acme") == 0

"""One log line per request (method, route, status, duration, tenant, env, team, correlation
id), never anything from the headers; plain ASGI; off with the ``request_log`` setting.
"""

from __future__ import annotations

import time
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.api.limits import admission_of
from tenantry.core.logging import get_logger

EVENT: Final = "request"
_PATH_CHARS: Final = 256
log = get_logger("tenantry.api.requests")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._on: bool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._enabled(scope):
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            log.info(EVENT, **_fields(scope, status[0], time.perf_counter() - started))

    def _enabled(self, scope: Scope) -> bool:
        if self._on is None:
            self._on = bool(scope["app"].state.services.settings.request_log)
        return self._on


def _shown(path: str) -> str:
    """A path no route matched, as the client sent it: cut, and escaped unless printable
    (a decoded ``%0a`` must not start a forged log line)."""
    cut = path[:_PATH_CHARS]
    return cut if cut.isprintable() else cut.encode("unicode_escape").decode("ascii")


def _fields(scope: Scope, status: int, seconds: float) -> dict[str, Any]:
    route = getattr(scope.get("route"), "path", None)
    fields: dict[str, Any] = {
        "method": scope["method"],
        "path": route or _shown(scope["path"]),
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
    }
    admission = admission_of(scope)
    if admission is not None and admission.ctx is not None:
        ctx = admission.ctx
        fields.update(tenant_id=ctx.tenant_id, env=ctx.env_id, team=ctx.team)
    return fields

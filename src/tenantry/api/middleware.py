"""Correlation ids: taken from ``X-Correlation-ID`` when sane, made otherwise, always returned.

A plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which runs every request in a
task group of its own): it binds the id for logging around the app and adds the header to the
response's start message.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.core.logging import bind_correlation

HEADER: Final = "X-Correlation-ID"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class CorrelationId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(HEADER, "")
        value = given if _SANE.fullmatch(given) else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = value
            await send(message)

        with bind_correlation(value):
            await self.app(scope, receive, send_with_id)

"""Correlation ids: taken from ``X-Correlation-ID`` when sane, made otherwise, always returned."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Final

from fastapi import Request, Response

from tenantry.core.logging import bind_correlation

HEADER: Final = "X-Correlation-ID"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")


async def correlation_id(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    given = request.headers.get(HEADER, "")
    value = given if _SANE.fullmatch(given) else uuid.uuid4().hex
    with bind_correlation(value):
        response = await call_next(request)
    response.headers[HEADER] = value
    return response

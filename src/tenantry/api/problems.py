"""RFC 9457 ``application/problem+json`` errors, from the error kinds in one table."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.core.errors import ErrorKind, RateLimited, TenantryError
from tenantry.core.ids import show
from tenantry.core.logging import get_logger
from tenantry.tenancy.lifecycle.freeze import WritesFrozen

MEDIA_TYPE: Final = "application/problem+json"
STATUS_BY_KIND: Final[dict[ErrorKind, int]] = {
    ErrorKind.INVALID: 400,
    ErrorKind.TOO_LARGE: 413,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.GONE: 410,
    ErrorKind.LOCKED: 423,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.INTERNAL: 500,
    ErrorKind.UNAVAILABLE: 503,
}
# HTTP says more than the kind for a few codes (preconditions, reused idempotency keys); the
# kind alone still decides the CLI exit code.
STATUS_BY_CODE: Final[dict[str, int]] = {
    "precondition.failed": 412,
    "session.revision_mismatch": 412,  # only an If-Match request can meet one through the API
    "idempotency.key_reused": 422,
    "precondition.required": 428,
}
# The details of these codes are extension members of their problem documents: a refused
# transition names the tenant's state and the states it is allowed from.
PUBLISHED_DETAILS: Final[dict[str, tuple[str, ...]]] = {
    "lifecycle.transition_refused": ("lifecycle_state", "kind", "allowed_from"),
    "job.conflict": ("job_id", "kind", "state"),
    "policy.violated": ("tenant_id", "policy", "action", "violations"),  # policies (issue 13)
}
_TITLES: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    423: "Locked",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_HTTP_CODES: Final = {
    404: "route.not_found",
    405: "method.not_allowed",
    413: "request.too_large",
}

log = get_logger(__name__)


class Problem(BaseModel):
    """An RFC 9457 problem document; ``code`` is Tenantry's stable error code."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str
    errors: list[dict[str, Any]] | None = None


class InvalidBody(HTTPException):
    """A body refused while it is read, where FastAPI lets only an ``HTTPException`` through:
    answered like a validation error (400 ``request.invalid`` with ``errors``)."""

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(400, detail)
        self.errors = errors


def problem(
    request: Request,
    status: int,
    *,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """``extensions`` are members a client may act on (RFC 9457 section 3.2)."""
    body: dict[str, Any] = {  # a Problem, built as a dict: errors are on the hot path too
        "type": f"urn:tenantry:problem:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    if extensions:
        body |= extensions
    return JSONResponse(
        body,
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the problem documents a route may answer."""
    return {
        status: {
            "model": Problem,
            "description": _TITLES.get(status, "Error"),
            "content": {MEDIA_TYPE: {}},
        }
        for status in statuses
    }


def status_of(error: TenantryError) -> int:
    return STATUS_BY_CODE.get(error.code) or STATUS_BY_KIND[error.kind]


def error_response(request: Request, error: TenantryError) -> JSONResponse:
    """The problem document of ``error``, with its status and headers."""
    status = status_of(error)
    members = PUBLISHED_DETAILS.get(error.code, ())
    return problem(
        request,
        status,
        code=error.code,
        detail=error.message,
        headers=_headers(error),
        extensions={name: error.details[name] for name in members if name in error.details},
    )


async def send_error(scope: Scope, send: Send, error: TenantryError) -> None:
    """:func:`error_response` sent as raw ASGI messages (no request or response objects), for
    refusals answered before routing: a flood of them must cost as little as possible."""
    status = status_of(error)
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    document = {
        "type": f"urn:tenantry:problem:{error.code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": error.message,
        "code": error.code,
        "instance": path,
    }
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", MEDIA_TYPE.encode()),
    ]
    for name, value in (_headers(error) or {}).items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _tenantry_error(request: Request, error: TenantryError) -> JSONResponse:
    return error_response(request, error)


def _headers(error: TenantryError) -> dict[str, str] | None:
    if error.kind is ErrorKind.UNAUTHENTICATED:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(error, RateLimited):  # whole seconds and never 0, which would invite a storm
        return {**error.headers, "Retry-After": str(max(1, math.ceil(error.retry_after)))}
    if isinstance(error, WritesFrozen):  # a migration's cutover: 503, retry in a moment
        return {"Retry-After": str(max(1, math.ceil(error.retry_after)))}
    return None


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    if (sent := _not_json(request)) is not None:
        detail = (
            f"this route takes a JSON body, sent with Content-Type: application/json, not {sent}"
        )
        return problem(
            request,
            415,
            code="request.content_type_unsupported",
            detail=detail,
            headers={"Accept": "application/json"},
        )
    fields = [
        {
            "location": ".".join(str(part) for part in e["loc"]),
            "message": e["msg"],
            "input": show(e["input"]) if isinstance(e.get("input"), str) else None,
        }
        for e in error.errors()[:20]
    ]
    return problem(
        request, 400, code="request.invalid", detail="the request is not valid", errors=fields
    )


def _not_json(request: Request) -> str | None:
    """The Content-Type sent, when the route takes a JSON body and that type is not JSON
    (FastAPI then validates the raw bytes, and the message would be about the body)."""
    route = request.scope.get("route")
    sent = request.headers.get("content-type")
    if sent is None or not isinstance(route, APIRoute) or route.body_field is None:
        return None
    kind = sent.split(";", 1)[0].strip().lower()
    json_type = kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )
    return None if json_type else show(sent)


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    if error.status_code == 413:  # the body limit, while the body was read
        return _too_large(request.scope)
    if isinstance(error, InvalidBody):
        return problem(
            request, 400, code="request.invalid", detail=error.detail, errors=error.errors
        )
    code = _HTTP_CODES.get(error.status_code, f"http.{error.status_code}")
    detail = str(error.detail)
    if error.status_code == 404 and request.url.path.endswith("/") and request.url.path != "/":
        detail = "no route at this path: paths take no trailing slash (never redirected)"
    return problem(request, error.status_code, code=code, detail=detail, headers=error.headers)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("api.unhandled_error", path=request.url.path, error_type=type(error).__name__)
    return problem(
        request, 500, code="internal.error", detail="an internal error occurred; see the server log"
    )


class TooLargeAsProblem:
    """Answers a body over a route's ``max_body_size`` with a problem, as every other error.

    Starlette's body limit answers such a request itself, in plain text, when its
    ``Content-Length`` announced it (in place of whatever the route answered; a body that only
    turns out too large while read raises, and is a problem already). This ASGI middleware,
    innermost of the app's, replaces that plain answer with 413 ``request.too_large``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_as_problem(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and _plain_too_large(message):
                replaced = True
                await _too_large(scope)(scope, receive, send)
            elif not replaced:  # the plain answer's body is dropped
                await send(message)

        await self.app(scope, receive, send_as_problem)


def _plain_too_large(start: Message) -> bool:
    headers = dict(start.get("headers", ()))
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    return start["status"] == 413 and not content_type.startswith(MEDIA_TYPE)


def _too_large(scope: Scope) -> JSONResponse:
    request = Request(scope)
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    announced = request.headers.get("content-length", "")
    if announced.isdigit():
        sent = f"is {announced} bytes"
    elif isinstance(limit, int):  # a chunked body is read only up to the limit
        sent = f"is over {limit} bytes"
    else:
        sent = "is too large"
    most = f"; this route takes at most {limit} bytes" if isinstance(limit, int) else ""
    detail = f"the request body {sent}{most}"
    return problem(request, 413, code=_HTTP_CODES[413], detail=detail)


def install(app: FastAPI) -> None:
    """Every error as a problem document: exception handlers, and the body limit's answer."""
    app.exception_handler(TenantryError)(_tenantry_error)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(HTTPException)(_http_error)
    app.exception_handler(Exception)(_unexpected)
    app.add_middleware(TooLargeAsProblem)

"""The OpenAPI document, completed by one pass over the routes instead of by each route.

A route that goes through the access dependency documents 429 (its tenant's limits), one that
reads the selection headers 404 (an unknown environment or team), one with a JSON body 415;
every error response is an RFC 9457 problem document.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from tenantry.api import caller
from tenantry.api.problems import MEDIA_TYPE, Problem

_PROBLEM_REF: Final = {"$ref": "#/components/schemas/Problem"}
_RATE_HEADERS: Final[dict[str, Any]] = {
    "Retry-After": {
        "description": "Whole seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    },
    **{
        name: {"description": about, "schema": {"type": "string"}}
        for name, about in (
            ("RateLimit-Policy", "The limit that refused the request."),
            ("RateLimit", "What remains of it, and when it resets."),
        )
    },
}
ADMITTED: Final[dict[int | str, dict[str, Any]]] = {
    429: {
        "description": "Too Many Requests: the tenant is over its rate or requests in flight "
        "(`rate.limited`).",
        "headers": _RATE_HEADERS,
    },
    404: {
        "description": "Not Found: the environment, team or resource named is not the "
        "caller's tenant's (another tenant's is answered the same).",
    },
}


_JSON_BODY: Final[dict[int | str, dict[str, Any]]] = {
    415: {
        "description": "Unsupported Media Type: the body is not sent as `application/json` "
        "(`request.content_type_unsupported`).",
    },
}
_SELECTION: Final = frozenset({"X-Env-ID", "X-Team-ID"})  # naming what may not exist: 404
_INVALID: Final = {"description": "Bad Request: the request is not valid (`request.invalid`)."}


def document(router: APIRouter) -> None:
    """Add 429 and 404 to every route of ``router`` that takes the access dependency, 415 to
    every route with a JSON body; call it before the router is included. A status a route
    documents itself keeps its description, and gets the headers documented here."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        added = {
            **(ADMITTED if caller.admits(route.dependant) else {}),
            **(_JSON_BODY if route.body_field is not None else {}),
        }
        for status, response in added.items():
            own = route.responses.get(status, {})
            headers = {**response.get("headers", {}), **own.get("headers", {})}
            route.responses[status] = {**response, **own} | (
                {"headers": headers} if headers else {}
            )


def install(app: FastAPI) -> None:
    """Serve the document with every error response as ``application/problem+json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = problems_everywhere(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def problems_everywhere(schema: dict[str, Any]) -> dict[str, Any]:
    """Every 4xx and 5xx response answers a problem. FastAPI's own 422 "Validation Error" is
    a 400 ``request.invalid`` here (``problems._validation_error``)."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema()
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {})
            if _SELECTION & {p["name"] for p in operation.get("parameters", [])}:
                responses.setdefault("404", dict(ADMITTED[404]))
            if responses.get("422", {}).get("description") == "Validation Error":
                del responses["422"]
                responses.setdefault("400", dict(_INVALID))
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = {MEDIA_TYPE: {"schema": dict(_PROBLEM_REF)}}
    return schema

"""Bodies over a route's ``max_body_size``: 413 ``request.too_large`` as a problem document,
whether ``Content-Length`` announced the size or the body only turned out too large (chunked);
and every such route documents it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from tests.api.runtime.support import ROUTERS, as_, assert_problem

PROBLEM = "application/problem+json"
LIMITED = [
    route
    for router in ROUTERS
    for route in router.routes
    if isinstance(route, APIRoute) and route.max_body_size is not None
]
CHUNK = 256 * 1024


def _label(route: APIRoute) -> str:
    return f"{sorted(route.methods)[0]} {route.path}"


def _path(route: APIRoute) -> str:
    return (
        route.path.replace("{key:object_key}", "big")
        .replace("{session_id}", "s1")
        .replace("{name}", "big")
    )


async def _chunks(size: int) -> AsyncIterator[bytes]:
    """``size`` bytes in chunks: httpx sends them without a Content-Length."""
    sent = 0
    while sent < size:
        chunk = b"x" * min(CHUNK, size - sent)
        sent += len(chunk)
        yield chunk


def test_the_limited_routes_are_the_write_routes() -> None:
    assert len(LIMITED) == 7, [_label(route) for route in LIMITED]


@pytest.mark.parametrize("route", LIMITED, ids=_label)
@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "chunked"])
async def test_a_body_over_the_limit_is_a_413_problem(
    api: httpx.AsyncClient, route: APIRoute, announced: bool
) -> None:
    assert route.max_body_size is not None
    size = route.max_body_size + 1
    content: Any = b"x" * size if announced else _chunks(size)
    headers = as_() | {"Content-Type": "application/json", "If-Match": '"1"'}
    (method,) = route.methods
    response = await api.request(method, _path(route), content=content, headers=headers)
    assert ("content-length" in response.request.headers) is announced
    body = assert_problem(response, 413, "request.too_large")
    assert f"at most {route.max_body_size} bytes" in str(body["detail"])
    assert body["instance"] == _path(route)


async def test_a_body_at_the_limit_is_taken(api: httpx.AsyncClient) -> None:
    (put_object,) = [r for r in LIMITED if r.path.startswith("/api/v1/objects")]
    assert put_object.max_body_size is not None
    data = b"x" * put_object.max_body_size
    response = await api.put("/api/v1/objects/edge", content=data, headers=as_())
    assert response.status_code == 200, response.text


def test_every_limited_route_documents_its_413_problem(app: Any) -> None:
    schema = app.openapi()
    for route in LIMITED:
        (method,) = route.methods
        path = route.path.replace(":object_key", "")
        documented = schema["paths"][path][method.lower()]["responses"]["413"]
        assert PROBLEM in documented["content"], _label(route)

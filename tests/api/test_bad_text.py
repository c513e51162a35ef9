"""Text that is not Unicode (a lone UTF-16 surrogate) is refused at the edge, on every route:
400 ``request.invalid`` naming the field, and nothing stored (it was a 500 on sessions, search
and tokens). Every field of every JSON body in the OpenAPI document is tried."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from tenantry.api.app import create_app
from tenantry.api.bodies import StrictJsonRoute, lone_surrogate
from tenantry.bootstrap import Services
from tenantry.tenancy.manifests import loader
from tests.conftest import EXAMPLE_BUNDLE

ADMIN: Final = {"Authorization": "Bearer admin-secret", "Content-Type": "application/json"}
LONE: Final = "\ud800"


@pytest.fixture
async def api(wired: Services) -> AsyncIterator[httpx.AsyncClient]:
    await wired.registry.apply(loader.load([EXAMPLE_BUNDLE]))
    await wired.controller.reconcile_many(["acme"], concurrency=1)
    transport = httpx.ASGITransport(app=create_app(wired.settings, services=wired))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _sent(value: Any) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: a lone surrogate goes out as \ud800


async def _token(api: httpx.AsyncClient) -> dict[str, str]:
    body = {"principal": "text-user", "tenant": "acme", "role": "tenant-admin"}
    issued = await api.post("/api/v1/tokens", content=_sent(body), headers=ADMIN)
    assert issued.status_code == 201, issued.text
    return {
        "Authorization": f"Bearer {issued.json()['token']}",
        "X-Tenant-ID": "acme",
        "X-Team-ID": "support",
        "Content-Type": "application/json",
    }


CASES: Final = [
    ("POST", "/api/v1/sessions", {"session_id": "s1", "user_id": LONE}, "body.user_id"),
    (
        "POST",
        "/api/v1/sessions",
        {"session_id": "s1", "transcript": [{"role": "user", "text": f"a{LONE}b"}]},
        "body.transcript.0.text",
    ),
    ("POST", "/api/v1/sessions", {"session_id": "s1", "variables": {LONE: 1}}, "body.variables"),
    (
        "POST",
        "/api/v1/search/documents",
        {"doc_id": "d1", "title": LONE, "body": "x"},
        "body.title",
    ),
    (
        "POST",
        "/api/v1/search/documents",
        {"doc_id": "d1", "title": "t", "body": "x", "fields": {"k": ["\udfff"]}},
        "body.fields.k.0",
    ),
    ("PUT", "/api/v1/state/s1", {"deep": [{"x": LONE}]}, "body.deep.0.x"),
    ("PUT", "/api/v1/secrets/s1", {"value": LONE}, "body.value"),
    (
        "POST",
        "/api/v1/tokens",
        {"principal": LONE, "tenant": "acme", "role": "viewer"},
        "body.principal",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), CASES)
async def test_a_lone_surrogate_is_a_400_naming_the_field(
    api: httpx.AsyncClient, method: str, path: str, body: Any, field: str
) -> None:
    headers = await _token(api)
    response = await api.request(method, path, content=_sent(body), headers=headers)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "request.invalid"
    assert problem["errors"][0]["location"] == field
    assert "surrogate" in problem["errors"][0]["message"]
    assert (await api.get("/api/v1/sessions/s1", headers=headers)).status_code == 404
    assert (await api.get("/api/v1/state/s1", headers=headers)).status_code == 404


async def test_encoded_surrogate_bytes_are_refused_too(api: httpx.AsyncClient) -> None:
    headers = await _token(api)
    raw = b'{"session_id": "s1", "user_id": "a\xed\xa0\x80"}'  # UTF-8-style bytes of U+D800
    response = await api.post("/api/v1/sessions", content=raw, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["location"] == "body.user_id"


async def test_pairs_and_escaped_backslashes_are_text(api: httpx.AsyncClient) -> None:
    headers = await _token(api)
    raw = b'{"session_id": "s1", "user_id": "\\ud83d\\ude00 \\\\ud800"}'
    created = await api.post("/api/v1/sessions", content=raw, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["user_id"] == "\U0001f600 \\ud800"


async def test_paths_queries_and_headers_cannot_carry_one(api: httpx.AsyncClient) -> None:
    headers = await _token(api)
    found = await api.get("/api/v1/search", params={"q": "x"}, headers=headers)
    assert found.status_code == 200
    for url in (
        "/api/v1/search?q=%ED%A0%80",
        "/api/v1/state/%ED%A0%80",
        "/api/v1/objects/%ED%A0%80",
    ):
        response = await api.get(url, headers=headers)
        assert response.status_code < 500, (url, response.text)


def test_the_check_reads_the_bytes_first() -> None:
    assert lone_surrogate(b'{"a": "plain \\u00e9"}', {"a": "plain \u00e9"}) is None
    assert lone_surrogate('{"a": "é"}'.encode(), {"a": "é"}) is None
    assert lone_surrogate(b'{"a": ["\\udc00"]}', {"a": ["\udc00"]}) == (("a", 0), False)
    assert lone_surrogate(b'{"\\ud800": 1}', {"\ud800": 1}) == ((), True)


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        included = getattr(route, "original_router", None)  # how FastAPI keeps an included router
        yield from [route] if included is None else _routes(included.routes)


def test_every_route_reads_bodies_strictly() -> None:
    # the API's own routes (the offline /docs and /redoc pages take no body)
    routes = [
        r for r in _routes(create_app().routes) if isinstance(r, APIRoute) and r.include_in_schema
    ]
    assert len(routes) > 20
    loose = [r.path for r in routes if not isinstance(r, StrictJsonRoute)]
    assert not loose, f"routes whose router has no route_class=StrictJsonRoute: {loose}"


def _fields(
    schema: dict[str, Any], spec: dict[str, Any], depth: int = 0
) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """(a value with a lone surrogate, its location) for every field under ``schema``."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    yield LONE, ()
    if depth > 4:
        return
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        yield from _fields(option, spec, depth + 1)
    for name, member in schema.get("properties", {}).items():
        for value, location in _fields(member, spec, depth + 1):
            yield {name: value}, (name, *location)
    if "items" in schema:
        for value, location in _fields(schema["items"], spec, depth + 1):
            yield [value], (0, *location)
    if schema.get("additionalProperties") not in (None, False):
        yield {LONE: 1}, ()
        yield {"k": LONE}, ("k",)


def _operations(app: FastAPI) -> Iterator[tuple[str, str, Any, str]]:
    spec = app.openapi()
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            seen = set()
            for value, location in _fields(content["application/json"]["schema"], spec):
                where = ".".join(str(p) for p in ("body", *location))
                if (where, repr(value)) in seen:
                    continue
                seen.add((where, repr(value)))
                url = path.replace("{session_id}", "s1").replace("{name}", "s1")
                yield method.upper(), url.replace("{key}", "k"), value, where


async def test_every_field_of_every_json_body(api: httpx.AsyncClient) -> None:
    headers = await _token(api)
    tried = 0
    for method, url, value, where in _operations(create_app()):
        response = await api.request(method, url, content=_sent(value), headers=headers)
        assert response.status_code == 400, (method, url, value, response.text)
        assert response.json()["errors"][0]["location"] == where, (method, url, value)
        tried += 1
    assert tried > 30

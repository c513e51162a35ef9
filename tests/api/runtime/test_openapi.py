"""The runtime routes' OpenAPI: tags, summaries, bodies, headers and every problem response;
and every POST takes ``Idempotency-Key`` the same way."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from hypothesis import given
from hypothesis import strategies as st

from tenantry.api.idempotency import IdempotentRoute, idempotent
from tenantry.bootstrap import Services
from tenantry.tenancy.idempotency.errors import IdempotencyKeyInvalid
from tenantry.tenancy.idempotency.service import HEADER_LIMIT, HEADER_PATTERN, check_key
from tests.api.runtime.support import ROUTERS, build_app

PREFIXES = tuple(
    f"/api/v1/{name}" for name in ("sessions", "state", "secrets", "objects", "search")
)
PROBLEM = "application/problem+json"


@pytest.fixture
def schema(tenants: Services) -> dict[str, Any]:
    document: dict[str, Any] = build_app(tenants).openapi()
    return document


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith(PREFIXES)
        for method, operation in item.items()
    ]
    assert len(found) == 23
    return found


def _params(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", [])}


def test_every_operation_is_documented(schema: dict[str, Any]) -> None:
    for path, method, operation in _operations(schema):
        where = f"{method.upper()} {path}"
        assert operation["tags"] and operation["summary"], where
        responses = operation["responses"]
        for status in ("400", "401", "403", "503"):
            assert PROBLEM in responses[status]["content"], (where, status)
        if "{" in path and method != "put":  # PUT on a state, secret or object creates it
            assert "404" in responses, where
        assert any(status.startswith("2") for status in responses), where


def test_posts_document_idempotency_and_changes_document_preconditions(
    schema: dict[str, Any],
) -> None:
    for path, method, operation in _operations(schema):
        if method == "post":
            assert "Idempotency-Key" in _params(operation), path
            assert {"409", "422"} <= operation["responses"].keys(), path
        if method in {"put", "patch"} and path.startswith("/api/v1/sessions"):
            assert "If-Match" in _params(operation)
            assert {"412", "428"} <= operation["responses"].keys()
    listing = schema["paths"]["/api/v1/sessions"]["get"]
    assert {"limit", "cursor"} <= _params(listing)
    put_object = schema["paths"]["/api/v1/objects/{key}"]["put"]
    assert "application/octet-stream" in put_object["requestBody"]["content"]


def test_every_post_route_is_idempotent_the_same_way() -> None:
    posts = [
        route
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or ())
    ]
    assert len(posts) == 3
    for route in posts:
        assert isinstance(route, IdempotentRoute), route.path
        assert idempotent in {d.call for d in route.dependant.dependencies}, route.path


def _idempotency_header(schema: dict[str, Any]) -> dict[str, Any]:
    operation = schema["paths"]["/api/v1/sessions"]["post"]
    (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    found: dict[str, Any] = header["schema"]
    return found


def _accepted(value: str) -> bool:
    try:
        check_key(value)
    except IdempotencyKeyInvalid:
        return False
    return True


KEY_SAMPLES = [
    "k",
    "x" * 255,
    "x" * 256,
    f'"{"x" * 255}"',  # 257 characters on the wire: the documented maxLength
    f'"{"x" * 256}"',
    '"k"',
    '""',
    '"',
    'a"b',
    "a\\b",
    "a b",
    "",
    "caf\u00e9",
    "~!#[]",
]


@pytest.mark.parametrize("value", KEY_SAMPLES)
def test_the_documented_idempotency_key_is_what_the_server_takes(
    schema: dict[str, Any], value: str
) -> None:
    documented = _idempotency_header(schema)
    assert documented["maxLength"] == 257
    matches = re.fullmatch(documented["pattern"], value) is not None
    assert (matches and len(value) <= documented["maxLength"]) == _accepted(value)


@given(st.text(st.characters(min_codepoint=32, max_codepoint=127), max_size=260))
def test_the_documented_idempotency_key_pattern_agrees_with_the_check(value: str) -> None:
    documented = {"pattern": HEADER_PATTERN, "maxLength": HEADER_LIMIT}
    matches = re.fullmatch(documented["pattern"], value) is not None
    assert (matches and len(value) <= HEADER_LIMIT) == _accepted(value)

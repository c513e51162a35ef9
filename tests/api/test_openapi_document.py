"""The OpenAPI document is complete: walked operation by operation, not route by route."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from tenantry.api import caller
from tenantry.api.app import create_app
from tenantry.api.routes import objects, search, secrets, sessions, state, tenants, tokens, usage
from tenantry.core.settings import Settings

PROBLEM = "application/problem+json"
METHODS = {"get", "put", "post", "patch", "delete", "head"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def schema(app: FastAPI) -> dict[str, Any]:
    document: dict[str, Any] = app.openapi()
    return document


def operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_error_response_is_a_problem_document(schema: dict[str, Any]) -> None:
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for label, operation in operations(schema):
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        for status, response in errors.items():
            assert list(response["content"]) == [PROBLEM], (label, status)
            ref = response["content"][PROBLEM]["schema"]["$ref"]
            assert ref == "#/components/schemas/Problem", (label, status)
        assert errors.get("422", {}).get("description") != "Validation Error", label


def test_every_limited_route_documents_429(schema: dict[str, Any]) -> None:
    modules = (tenants, tokens, sessions, state, secrets, objects, search, usage)
    limited = [
        (method.lower(), route.path_format)
        for module in modules
        for route in module.router.routes
        if isinstance(route, APIRoute) and caller.admits(route.dependant)
        for method in route.methods
    ]
    assert len(limited) >= 20
    for method, path in limited:
        refused = schema["paths"][path][method]["responses"]["429"]
        assert {"Retry-After", "RateLimit-Policy", "RateLimit"} <= set(refused["headers"])


def test_every_route_naming_an_environment_or_team_documents_404(schema: dict[str, Any]) -> None:
    selecting = [
        (label, operation)
        for label, operation in operations(schema)
        if {"X-Env-ID", "X-Team-ID"} & {p["name"] for p in operation.get("parameters", [])}
    ]
    assert len(selecting) >= 20
    for label, operation in selecting:
        assert "404" in operation["responses"], label


def test_every_json_body_documents_415(schema: dict[str, Any]) -> None:
    with_json = [
        (label, operation)
        for label, operation in operations(schema)
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert len(with_json) >= 6
    for label, operation in with_json:
        assert "415" in operation["responses"], label


@pytest.mark.parametrize(
    ("model", "field", "rules"),
    [
        ("SessionCreate", "session_id", {"pattern", "minLength", "maxLength"}),
        ("SessionCreate", "user_id", {"minLength", "maxLength"}),
        ("FlowCursorBody", "flow", {"pattern", "maxLength"}),
        ("DocumentIn", "doc_id", {"pattern", "minLength", "maxLength"}),
        ("DocumentIn", "title", {"maxLength"}),
        ("DocumentIn", "body", {"maxLength"}),
        ("SecretWrite", "value", {"maxLength"}),
    ],
)
def test_body_constraints_are_in_the_schema(
    schema: dict[str, Any], model: str, field: str, rules: set[str]
) -> None:
    found = schema["components"]["schemas"][model]["properties"][field]
    variants = [found, *found.get("anyOf", [])]
    assert any(rules <= set(variant) for variant in variants), found

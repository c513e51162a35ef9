"""A JSON route sent another Content-Type says so: 415 ``request.content_type_unsupported``."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from tenantry.tenancy.access.schemas import Role
from tests.api.runtime.support import ROUTERS, as_, assert_problem

JSON_ROUTES = [
    (method, route.path)
    for router in ROUTERS
    for route in router.routes
    if isinstance(route, APIRoute) and route.body_field is not None
    for method in sorted(route.methods)
]
ADMIN = as_(role=Role.TENANT_ADMIN)


def test_there_are_json_routes_to_check() -> None:
    assert len(JSON_ROUTES) >= 5, JSON_ROUTES


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "name-1", path)


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
async def test_valid_json_with_another_type_is_415(
    api: httpx.AsyncClient, app: FastAPI, method: str, path: str, content_type: str
) -> None:
    headers = ADMIN | {"Content-Type": content_type}
    sent = await api.request(method, _concrete(path), content=b'{"value": 1}', headers=headers)
    body = assert_problem(sent, 415, "request.content_type_unsupported")
    assert "application/json" in str(body["detail"]) and content_type in str(body["detail"])
    assert sent.headers["accept"] == "application/json"


async def test_json_types_with_parameters_or_a_suffix_are_json(api: httpx.AsyncClient) -> None:
    for n, content_type in enumerate(("application/json; charset=utf-8", "application/x+json")):
        headers = as_() | {"Content-Type": content_type}
        body = f'{{"session_id": "s{n}"}}'.encode()
        made = await api.post("/api/v1/sessions", content=body, headers=headers)
        assert made.status_code == 201, made.text
    bad = await api.post(
        "/api/v1/sessions", content=b"{", headers=as_() | {"Content-Type": "application/json"}
    )
    assert_problem(bad, 400, "request.invalid")

"""A bad id in a path is refused by the service that checks it, with that service's code: the
pattern and lengths the OpenAPI document shows for it are not enforced by FastAPI."""

from __future__ import annotations

import httpx
import pytest

from tenantry.tenancy.access.schemas import Role
from tests.api.runtime.support import as_, assert_problem

BAD = [
    ("GET", "/api/v1/sessions/BAD", "id.invalid"),
    ("GET", f"/api/v1/sessions/{'s' * 65}", "id.invalid"),
    ("GET", "/api/v1/state/a..b", "id.invalid"),
    ("DELETE", "/api/v1/state/a_", "id.invalid"),
    ("GET", "/api/v1/secrets/BAD", "id.invalid"),
    ("GET", "/api/v1/secrets/a.b/versions", "id.invalid"),
    ("DELETE", "/api/v1/search/documents/bad%20id", "search.doc_id_invalid"),
    ("DELETE", f"/api/v1/search/documents/{'d' * 129}", "search.doc_id_invalid"),
    ("GET", "/api/v1/objects/a/%2E%2E/b", "object_key.invalid"),
    ("GET", f"/api/v1/objects/{'k' * 1025}", "object_key.invalid"),
]


@pytest.mark.parametrize(("method", "path", "code"), BAD)
async def test_a_bad_path_id_is_the_services_400(
    api: httpx.AsyncClient, method: str, path: str, code: str
) -> None:
    response = await api.request(method, path, headers=as_(role=Role.TEAM_ADMIN))
    assert_problem(response, 400, code)

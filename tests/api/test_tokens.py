"""The token routes' edges: reserved subjects, lifetimes and revocation by token id, over HTTP.

Runs on SQLite and on the real PostgreSQL (the app of ``test_access``: the token routes and a
probe route behind ``authorized``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tenantry.bootstrap import Services
from tests.api.test_access import Api, _headers, app_for, assert_problem
from tests.integration.access.support import ADMIN_TOKEN, kit_for


@pytest.fixture
async def api(wired: Services) -> AsyncIterator[Api]:
    kit = await kit_for(wired, reconcile=True)
    transport = httpx.ASGITransport(app=app_for(kit))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Api(http, kit)


async def _issue(api: Api, token: str, **body: Any) -> httpx.Response:
    return await api.http.post(
        "/api/v1/tokens",
        json={"principal": "bob", "role": "viewer", "tenant": "acme", **body},
        headers=_headers(token, {}),
    )


@pytest.mark.parametrize(
    "principal",
    [
        "admin-token",
        "operator",
        "Operator",
        "ADMIN-TOKEN",
        "apikey:0123456789abcdef",
        "ApiKey:x",
        "cli:root",  # the command line's subjects
    ],
)
async def test_built_in_subjects_are_reserved(api: Api, principal: str) -> None:
    admin = await api.token(role="tenant-admin")
    before = await api.kit.access.audit_records()
    for token in (admin, ADMIN_TOKEN):
        body = assert_problem(
            await _issue(api, token, principal=principal), 400, "principal.reserved"
        )
        assert principal in body["detail"]
    assert await api.kit.access.audit_records() == before  # nothing issued, nothing recorded


async def test_a_token_mints_no_token_outliving_it(api: Api) -> None:
    issued = await api.kit.access.issue_token("ann", tenant="acme", role="tenant-admin")
    refused = await _issue(api, issued.token, ttl_seconds=30 * 86_400)
    body = assert_problem(refused, 400, "token.ttl_invalid")
    assert "at most 3600 seconds" in body["detail"] and "issuing it expires" in body["detail"]
    api.kit.clock.advance(timedelta(minutes=45))
    minted = await _issue(api, issued.token)
    assert minted.status_code == 201, minted.text
    assert minted.json()["expires_at"] == issued.expires_at.isoformat().replace("+00:00", "Z")
    over_plan = await _issue(api, ADMIN_TOKEN, ttl_seconds=86_401)
    body = assert_problem(over_plan, 400, "token.ttl_invalid")
    assert "at most 86400 seconds" in body["detail"] and "max_token_ttl" in body["detail"]
    assert_problem(
        await _issue(api, ADMIN_TOKEN, ttl_seconds=30 * 86_400 + 1), 400, "request.invalid"
    )

"""Too large is 413 on every route, whichever limit refused it (the route's body limit, a
resource's size limit or the tenant's storage quota): the problem gives the size sent and the
limit exceeded, and says so when the limit counts stored (sealed) bytes. Nothing is written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenantry.api.schemas.secrets import VALUE_LIMIT
from tenantry.core.errors import ErrorKind, TooLarge
from tenantry.runtime.search.schemas import BODY_LIMIT, TITLE_LIMIT
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.limits.errors import QuotaTooLarge
from tests.api.runtime.support import as_, assert_problem

ADMIN = as_(role=Role.TEAM_ADMIN)
STATE_LIMIT = 256 * 1024  # the standard plan's per-value cap
SESSION_LIMIT = 1024 * 1024

CASES = [
    ("PUT", "/api/v1/state/s1", "x" * (300 * 1024), "state.too_large", 307_202, STATE_LIMIT),
    (
        "POST",
        "/api/v1/sessions",
        {"session_id": "s1", "variables": {"v": "x" * (2 * 1024 * 1024)}},
        "session.too_large",
        None,
        SESSION_LIMIT,
    ),
    (
        "PUT",
        "/api/v1/secrets/big",
        {"value": "x" * (VALUE_LIMIT + 1)},
        "secret.too_large",
        VALUE_LIMIT + 1,
        VALUE_LIMIT,
    ),
    (
        "POST",
        "/api/v1/search/documents",
        {"doc_id": "d", "title": "t" * (TITLE_LIMIT + 1), "body": "b"},
        "search.document_too_large",
        TITLE_LIMIT + 1,
        TITLE_LIMIT,
    ),
    (
        "POST",
        "/api/v1/search/documents",
        {"doc_id": "d", "title": "t", "body": "b" * (BODY_LIMIT + 1)},
        "search.document_too_large",
        BODY_LIMIT + 1,
        BODY_LIMIT,
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "code", "size", "limit"), CASES)
async def test_a_value_over_its_limit_is_413_with_both_sizes(
    api: httpx.AsyncClient,
    method: str,
    path: str,
    body: Any,
    code: str,
    size: int | None,
    limit: int,
) -> None:
    response = await api.request(method, path, json=body, headers=ADMIN)
    detail = str(assert_problem(response, 413, code)["detail"])
    assert f"{limit}" in detail, detail
    if size is not None:
        assert f"{size}" in detail, detail
    assert (await api.get("/api/v1/sessions/s1", headers=ADMIN)).status_code == 404
    assert (await api.get("/api/v1/state/s1", headers=ADMIN)).status_code == 404
    assert (await api.get("/api/v1/secrets/big", headers=ADMIN)).status_code == 404


async def test_a_body_over_the_route_limit_gives_the_size_sent(api: httpx.AsyncClient) -> None:
    sent = b"x" * (2 * 1024 * 1024)
    headers = as_() | {"Content-Type": "application/json"}
    response = await api.put("/api/v1/state/s1", content=sent, headers=headers)
    detail = str(assert_problem(response, 413, "request.too_large")["detail"])
    assert (
        detail == f"the request body is {len(sent)} bytes; this route takes at most 1048576 bytes"
    )


def test_every_too_large_is_its_own_kind() -> None:
    assert issubclass(QuotaTooLarge, TooLarge) and QuotaTooLarge.kind is ErrorKind.TOO_LARGE
    from tenantry.api.problems import STATUS_BY_KIND  # noqa: PLC0415 - the table under test
    from tenantry.cli.exit_codes import BY_KIND  # noqa: PLC0415

    assert STATUS_BY_KIND[ErrorKind.TOO_LARGE] == 413
    assert BY_KIND[ErrorKind.TOO_LARGE] == BY_KIND[ErrorKind.INVALID]

"""``Idempotency-Key`` on POSTs: replay, reuse, independence per tenant and credential,
concurrent duplicates, and the records sealed at rest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import select, update

from tenantry.api.caller import Writer
from tenantry.api.idempotency import IDEMPOTENT, IdempotentRoute
from tenantry.bootstrap import Services
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.idempotency.models import IdempotencyRow
from tests.api.runtime.support import as_, assert_problem, build_app, client

URL = "/api/v1/sessions"
KEY = "3f1c2a9e-5b7d-4c1e-9a8b-0d6e4f2a1b3c"


def _keyed(key: str = KEY, **headers: Any) -> dict[str, str]:
    return as_(**headers) | {"Idempotency-Key": key}


async def _revision(api: httpx.AsyncClient, session_id: str) -> int:
    return int((await api.get(f"{URL}/{session_id}", headers=as_())).json()["revision"])


async def test_the_same_request_is_answered_the_same(api: httpx.AsyncClient) -> None:
    body = {"session_id": "s1", "variables": {"a": 1}}
    first = await api.post(URL, json=body, headers=_keyed())
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers, first.text
    await api.patch(f"{URL}/s1", json={}, headers=as_() | {"If-Match": '"1"'})  # now at 2
    again = await api.post(URL, json=body, headers=_keyed())
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    for header in ("content-type", "location", "etag"):
        assert again.headers[header] == first.headers[header]
    assert await _revision(api, "s1") == 2  # ran once
    quoted = await api.post(URL, json=body, headers=_keyed(f'"{KEY}"'))  # sf-string form
    assert quoted.headers["idempotent-replayed"] == "true"


async def test_a_different_request_under_the_key_is_422(api: httpx.AsyncClient) -> None:
    await api.post(URL, json={"session_id": "s1"}, headers=_keyed())
    for attempt in (
        api.post(URL, json={"session_id": "s2"}, headers=_keyed()),
        api.post(URL, json={"session_id": "s1", "variables": {}}, headers=_keyed()),
        api.post(
            "/api/v1/search/documents",
            json={"doc_id": "d", "title": "t", "body": "b"},
            headers=_keyed(),
        ),
    ):
        assert_problem(await attempt, 422, "idempotency.key_reused")
    listing = (await api.get(URL, headers=as_())).json()
    assert [s["session_id"] for s in listing["items"]] == ["s1"]


async def test_keys_are_independent_per_tenant_and_principal(api: httpx.AsyncClient) -> None:
    body = {"session_id": "s1"}
    assert (await api.post(URL, json=body, headers=_keyed())).status_code == 201
    other_tenant = await api.post(URL, json=body, headers=_keyed(tenant="bigcorp"))
    assert other_tenant.status_code == 201 and "idempotent-replayed" not in other_tenant.headers
    other_principal = await api.post(URL, json=body, headers=_keyed(principal="user-2"))
    assert_problem(other_principal, 409, "session.exists")  # it ran: no replay of user-1's
    assert "idempotent-replayed" not in other_principal.headers


async def test_a_replay_is_authorized_first_and_keyed_by_credential(
    api: httpx.AsyncClient,
) -> None:
    """Issue 10: a viewer, or a member of another team, sending support's key and body got 201
    and support's session (``Idempotent-Replayed: true``)."""
    body = {"session_id": "create-1"}
    first = await api.post(URL, json=body, headers=_keyed("create-1"))
    assert first.status_code == 201 and first.json()["team_id"] == "support"
    viewer = await api.post(URL, json=body, headers=_keyed("create-1", role=Role.VIEWER))
    assert_problem(viewer, 403, "auth.role_forbidden")
    assert "idempotent-replayed" not in viewer.headers
    sales = await api.post(URL, json=body, headers=_keyed("create-1", team="sales"))
    assert sales.status_code == 201 and "idempotent-replayed" not in sales.headers
    assert sales.json()["team_id"] == "sales"  # it ran, in sales
    admin = await api.post(URL, json=body, headers=_keyed("create-1", role=Role.TEAM_ADMIN))
    assert_problem(admin, 409, "session.exists")  # another role is another credential: it ran
    again = await api.post(URL, json=body, headers=_keyed("create-1"))
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content


async def test_a_failed_request_frees_its_key(api: httpx.AsyncClient) -> None:
    refused = await api.post(URL, json={"session_id": "BAD"}, headers=_keyed())
    assert_problem(refused, 400, "id.invalid")
    assert (await api.post(URL, json={"session_id": "s1"}, headers=_keyed("k2"))).status_code == 201
    conflict = await api.post(URL, json={"session_id": "s1"}, headers=_keyed("k3"))
    assert_problem(conflict, 409, "session.exists")
    await api.delete(f"{URL}/s1", headers=as_())
    retried = await api.post(URL, json={"session_id": "s1"}, headers=_keyed("k3"))
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    forbidden = await api.post(URL, json={"session_id": "s2"}, headers=_keyed(role=Role.VIEWER))
    assert_problem(forbidden, 403, "auth.role_forbidden")
    assert (await api.post(URL, json={"session_id": "s2"}, headers=_keyed())).status_code == 201


async def test_the_longest_key_is_taken_bare_and_quoted(api: httpx.AsyncClient) -> None:
    """255 characters, or 257 on the wire as a quoted string: the documented maxLength."""
    longest = "x" * 255
    first = await api.post(URL, json={"session_id": "s1"}, headers=_keyed(f'"{longest}"'))
    assert first.status_code == 201, first.text
    again = await api.post(URL, json={"session_id": "s1"}, headers=_keyed(longest))
    assert again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("key", ["", " ", "a b", "x" * 256, 'a"b', "a\\b", '""', "\t"])
async def test_bad_keys_are_400_and_run_nothing(api: httpx.AsyncClient, key: str) -> None:
    response = await api.post(URL, json={"session_id": "s1"}, headers=_keyed(key))
    assert_problem(response, 400, "idempotency.key_invalid")
    assert (await api.get(URL, headers=as_())).json()["items"] == []


async def test_key_rotation_under_a_key_starts_one_job(api: httpx.AsyncClient) -> None:
    admin = as_(role=Role.TENANT_ADMIN)
    first = await api.post("/api/v1/secrets/rotate-key", headers=admin | {"Idempotency-Key": "r1"})
    again = await api.post("/api/v1/secrets/rotate-key", headers=admin | {"Idempotency-Key": "r1"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert first.json()["kind"] == "rotate-keys"


def _gated() -> tuple[APIRouter, asyncio.Event, asyncio.Event, list[int]]:
    router = APIRouter(route_class=IdempotentRoute)
    entered, gate, runs = asyncio.Event(), asyncio.Event(), list[int]()

    @router.post("/test/slow", dependencies=[IDEMPOTENT])
    async def slow(access: Writer) -> dict[str, int]:
        runs.append(1)
        entered.set()
        await gate.wait()
        return {"runs": len(runs)}

    return router, entered, gate, runs


@pytest.fixture
async def gated(tenants: Services) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    router, entered, gate, runs = _gated()
    app: FastAPI = build_app(tenants, router)
    async with client(app) as http:
        yield http, (entered, gate, runs)


async def test_concurrent_duplicates_run_once(gated: tuple[httpx.AsyncClient, Any]) -> None:
    http, (entered, gate, runs) = gated
    first = asyncio.create_task(http.post("/test/slow", headers=_keyed()))
    await entered.wait()
    duplicates = await asyncio.gather(
        *(http.post("/test/slow", headers=_keyed()) for _ in range(5))
    )
    for duplicate in duplicates:
        assert_problem(duplicate, 409, "idempotency.in_progress")
    gate.set()
    done = await first
    assert done.status_code == 200 and done.json() == {"runs": 1}
    replay = await http.post("/test/slow", headers=_keyed())
    assert replay.json() == {"runs": 1} and replay.headers["idempotent-replayed"] == "true"
    assert runs == [1]


async def test_responses_are_sealed_and_bound_to_their_record(
    tenants: Services, api: httpx.AsyncClient
) -> None:
    body = {"session_id": "s1", "variables": {"note": "acme-confidential"}}
    assert (await api.post(URL, json=body, headers=_keyed())).status_code == 201
    assert (await api.post(URL, json=body, headers=_keyed(tenant="bigcorp"))).status_code == 201
    async with tenants.engine.begin() as db:
        rows = {row.tenant_id: row for row in (await db.execute(select(IdempotencyRow))).all()}
        assert set(rows) == {"acme", "bigcorp"} and rows["acme"].status == 201
        sealed = rows["acme"].response
        assert sealed.startswith(b"TNE1") and b"acme-confidential" not in sealed
        assert rows["acme"].principal != "user-1" and len(rows["acme"].principal) == 64
        # acme's sealed response copied into bigcorp's record does not open there.
        await db.execute(
            update(IdempotencyRow)
            .where(IdempotencyRow.tenant_id == "bigcorp")
            .values(response=sealed)
        )
    copied = await api.post(URL, json=body, headers=_keyed(tenant="bigcorp"))
    assert_problem(copied, 409, "idempotency.record_unreadable")
    assert "acme-confidential" not in copied.text

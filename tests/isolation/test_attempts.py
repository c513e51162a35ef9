"""Attempts on A that the route table does not spell out: A's idempotency keys, A's paging
cursors, paths that climb out of B's space; and checks that the suite's own detectors bite."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import pytest

from tests.isolation import probes
from tests.isolation.table import TABLE
from tests.isolation.world import CHANNEL, A, Names, World

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _session_body(world: World) -> dict[str, Any]:
    a = world.a
    return {
        "session_id": a.names.session,
        "channel_id": CHANNEL,
        "user_id": a.values["user"],
        "variables": {"note": a.values["variable"]},
        "transcript": [{"role": "user", "text": a.values["said"]}],
    }


async def test_an_idempotency_key_is_the_tenants_own(world: World) -> None:
    """B sending A's key with A's very request runs it for B; it replays nothing of A's."""
    before = await world.snapshot(world.a)
    key = {"Idempotency-Key": f"{world.a.names.idempotency}.sessions"}
    body = _session_body(world)
    mine = await world.http.post("/api/v1/sessions", json=body, headers=world.b.headers() | key)
    assert mine.status_code == 201, mine.text
    assert "Idempotent-Replayed" not in mine.headers
    again = await world.http.post("/api/v1/sessions", json=body, headers=world.a.headers() | key)
    assert again.headers.get("Idempotent-Replayed") == "true"  # the control: A's key does replay
    assert mine.json()["created_at"] != again.json()["created_at"]
    assert await world.snapshot(world.a) == before


async def test_a_paging_cursor_of_a_moves_only_within_bs_listing(world: World) -> None:
    for number in range(3):
        made = await world.http.post(
            "/api/v1/sessions", json={"session_id": f"more-{number}"}, headers=world.a.headers()
        )
        assert made.status_code == 201, made.text
    page = await world.http.get("/api/v1/sessions?limit=1", headers=world.a.headers())
    cursor = page.json()["next_cursor"]
    assert cursor is not None
    for params in ({"limit": "1", "cursor": cursor}, {"cursor": cursor}):
        response = await world.http.get(
            "/api/v1/sessions", params=params, headers=world.b.headers()
        )
        probes.assert_no_leak(world, response)
        assert response.status_code in (200, 400), response.text
        ids = {item["session_id"] for item in response.json().get("items", [])}
        assert ids <= {world.b.names.session}


def _climbing(name: str) -> list[str]:
    """Names that try to leave the caller's space for A's (percent-encoded, so that the
    client sends the dots and slashes as they are)."""
    raw = [
        f"../../{A}/prod/{name}",
        f"../{A}/{name}",
        f"docs/../../../{A}/prod/{name}",
        f"/{name}",
        f"..\\..\\{A}\\prod\\{name}",
        f"{name}\x00",
        f"./{name}",
    ]
    return [quote(item, safe="") for item in raw]


@pytest.mark.parametrize(
    ("method", "template", "name"),
    [
        ("GET", "/api/v1/objects/{}", "object_key"),
        ("DELETE", "/api/v1/objects/{}", "object_key"),
        ("PUT", "/api/v1/objects/{}", "object_key"),
        ("GET", "/api/v1/sessions/{}", "session"),
        ("GET", "/api/v1/state/{}", "session"),
        ("PUT", "/api/v1/state/{}", "session"),
        ("GET", "/api/v1/secrets/{}", "secret"),
        ("PUT", "/api/v1/secrets/{}", "secret"),
        ("DELETE", "/api/v1/search/documents/{}", "doc"),
    ],
)
async def test_names_that_climb_out_are_refused(
    world: World, method: str, template: str, name: str
) -> None:
    before = await world.snapshot(world.a)
    body: dict[str, Any] = {"content": b"x"} if "objects" in template else {"json": {"value": "x"}}
    for climbing in _climbing(getattr(world.a.names, name)):
        options = body if method == "PUT" else {}
        response = await world.http.request(
            method, template.format(climbing), headers=world.b.headers(), **options
        )
        probes.assert_no_leak(world, response)
        assert response.status_code in (400, 404), (climbing, response.text)
    assert await world.snapshot(world.a) == before


async def test_conditions_on_as_objects_are_as_on_missing_ones(world: World) -> None:
    """B's If-Match / If-None-Match on A's object key, with A's very ETag: answered as on a key
    that holds nothing, and A's object (its bytes and its ETag) stays as it was."""
    a, b, fresh = world.a, world.b, Names.fresh()
    before = await world.snapshot(a)
    path = "/api/v1/objects/{}"
    tag = (await world.http.get(path.format(a.names.object_key), headers=a.headers())).headers[
        "etag"
    ]
    attempts: list[tuple[str, dict[str, str]]] = [
        ("PUT", {"If-Match": tag}),
        ("PUT", {"If-Match": "*"}),
        ("DELETE", {"If-Match": tag}),
        ("GET", {"If-None-Match": tag}),
        ("PUT", {"If-None-Match": tag}),  # last: it writes B's own object under either name
    ]
    for method, conditions in attempts:
        route = TABLE[f"{method} /api/v1/objects/{{key}}"]
        answers = []
        for names in (a.names, fresh):
            content = b"B" if method == "PUT" else None
            answers.append(
                await world.http.request(
                    method,
                    path.format(names.object_key),
                    content=content,
                    headers=b.headers() | conditions,
                )
            )
        foreign, missing = answers
        probes.assert_alike(route, (foreign, a.names), (missing, fresh))
        probes.assert_no_leak(world, foreign)
        assert foreign.headers.get("etag") != tag, (method, conditions)
    read = await world.http.get(path.format(a.names.object_key), headers=a.headers())
    assert (read.content, read.headers["etag"]) == (a.values["object"].encode(), tag)
    assert await world.snapshot(a) == before


async def test_issuing_a_token_with_a_mismatched_tenant_header_is_403(world: World) -> None:
    """B's token selecting A, the body naming no tenant: refused and audited on A (the route
    table's call names A in the body too)."""
    correlation = f"attempt-{secrets.token_hex(8)}"
    response = await world.http.post(
        "/api/v1/tokens",
        json={"principal": "mallory", "role": "viewer"},
        headers=world.b.headers(tenant=A) | {"X-Correlation-ID": correlation},
    )
    probes.assert_problem(response, 403, "auth.tenant_mismatch")
    probes.assert_no_leak(world, response)
    records = await world.services.access.audit_records(tenant=A, limit=1000)
    found = [(r.outcome, r.actor, r.action) for r in records if r.correlation_id == correlation]
    assert found == [("denied", world.b.principal, "POST /api/v1/tokens")]


async def test_issuing_a_token_for_a_tenant_other_than_the_selected_one_is_403(
    world: World,
) -> None:
    """B selecting its own tenant and naming A in the body: refused and audited on A."""
    correlation = f"attempt-{secrets.token_hex(8)}"
    response = await world.http.post(
        "/api/v1/tokens",
        json={"principal": "mallory", "tenant": A, "role": "viewer"},
        headers=world.b.headers() | {"X-Correlation-ID": correlation},
    )
    probes.assert_problem(response, 403, "auth.tenant_mismatch")
    records = await world.services.access.audit_records(tenant=A, limit=1000)
    assert [(r.outcome, r.actor) for r in records if r.correlation_id == correlation] == [
        ("denied", world.b.principal)
    ]
    own = await world.http.post(
        "/api/v1/tokens", json={"principal": "mallory", "role": "viewer"}, headers=world.b.headers()
    )
    assert own.status_code == 201, own.text
    assert [g["tenant"] for g in own.json()["grants"]] == [world.b.id]


@SQLITE_ONLY
async def test_the_leak_check_finds_as_data(world: World) -> None:
    """A's own answers hold its markers: the check would see them in B's."""
    for path in (f"/api/v1/sessions/{world.a.names.session}", "/api/v1/secrets"):
        response = await world.http.get(path, headers=world.a.headers())
        with pytest.raises(AssertionError, match="A's"):
            probes.assert_no_leak(world, response)


@SQLITE_ONLY
async def test_an_answer_unlike_a_missing_ones_is_caught(world: World) -> None:
    """If B's token reached A's session, the comparison with a missing one would fail."""
    route = TABLE["GET /api/v1/sessions/{session_id}"]
    fresh = Names.fresh()
    found = await world.http.get(
        f"/api/v1/sessions/{world.a.names.session}", headers=world.a.headers()
    )
    missing = await world.http.get(f"/api/v1/sessions/{fresh.session}", headers=world.a.headers())
    with pytest.raises(AssertionError):
        probes.assert_alike(route, (found, world.a.names), (missing, fresh))
    same = await world.http.get(
        f"/api/v1/sessions/{world.a.names.session}", headers=world.b.headers()
    )
    probes.assert_alike(route, (same, world.a.names), (missing, fresh))


async def test_the_same_names_in_both_tenants_hold_each_tenants_own(world: World) -> None:
    """B stores its own things under A's very names; each tenant then reads its own."""
    a, b = world.a, world.b
    n = a.names
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/sessions", {"json": {"session_id": n.session, "variables": {"v": "B"}}}),
        ("PUT", f"/api/v1/state/{n.session}", {"json": {"v": "B"}}),
        ("PUT", f"/api/v1/secrets/{n.secret}", {"json": {"value": "B"}}),
        ("PUT", f"/api/v1/objects/{n.object_key}", {"content": b"B"}),
        (
            "POST",
            "/api/v1/search/documents",
            {"json": {"doc_id": n.doc, "title": n.title, "body": "B"}},
        ),
    ]
    for method, path, options in writes:
        response = await world.http.request(method, path, headers=b.headers(), **options)
        assert response.is_success, (path, response.text)
    reads = {
        f"/api/v1/sessions/{n.session}": ("variables", {"note": a.values["variable"]}, {"v": "B"}),
        f"/api/v1/state/{n.session}": ("value", {"note": a.values["state"]}, {"v": "B"}),
        f"/api/v1/secrets/{n.secret}": ("value", a.values["secret"], "B"),
    }
    for path, (field, mine_a, mine_b) in reads.items():
        assert (await world.http.get(path, headers=a.headers())).json()[field] == mine_a
        assert (await world.http.get(path, headers=b.headers())).json()[field] == mine_b
    obj = f"/api/v1/objects/{n.object_key}"
    assert (await world.http.get(obj, headers=a.headers())).content == a.values["object"].encode()
    assert (await world.http.get(obj, headers=b.headers())).content == b"B"
    hits = {}
    for tenant in (a, b):
        found = await world.http.get(
            "/api/v1/search", params={"q": n.title}, headers=tenant.headers()
        )
        (hits[tenant.id],) = found.json()["items"]
    assert hits[a.id]["fields"] == {"owner": a.values["field"]}
    assert hits[b.id]["fields"] == {} and a.values["body"] not in hits[b.id]["snippet"]

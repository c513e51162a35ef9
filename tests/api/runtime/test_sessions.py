"""``/api/v1/sessions``: create, list (paged), read, change by revision, delete."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from tenantry.tenancy.access.schemas import Role
from tests.api.runtime.support import as_, assert_problem

URL = "/api/v1/sessions"
SPEC_HEADERS = {"Authorization": "Bearer test", "X-Tenant-ID": "acme", "X-Team-ID": "support"}


async def _create(api: httpx.AsyncClient, session_id: str, **body: Any) -> httpx.Response:
    response = await api.post(URL, json={"session_id": session_id, **body}, headers=as_())
    assert response.status_code == 201, response.text
    return response


async def _ids(api: httpx.AsyncClient, headers: dict[str, str] | None = None) -> list[str]:
    listing = await api.get(URL, headers=headers or as_())
    assert listing.status_code == 200, listing.text
    return [item["session_id"] for item in listing.json()["items"]]


async def test_the_spec_example_works_as_written(api: httpx.AsyncClient) -> None:
    empty = await api.get(URL, headers=SPEC_HEADERS)
    assert empty.status_code == 200
    assert empty.json() == {"items": [], "next_cursor": None}
    await _create(api, "chat-1", channel_id="slack", user_id="u-42")
    listing = (await api.get(URL, headers=SPEC_HEADERS)).json()
    (item,) = listing["items"]
    assert (item["session_id"], item["team_id"], item["channel_id"]) == (
        "chat-1",
        "support",
        "slack",
    )
    assert item["revision"] == 1 and "transcript" not in item and listing["next_cursor"] is None


async def test_create_then_read(api: httpx.AsyncClient) -> None:
    created = await _create(
        api,
        "s1",
        variables={"lang": "en", "n": [1, 2.5, None]},
        cursor={"flow": "acme_support_flow", "node": "greet", "version": "1.0"},
        transcript=[{"role": "user", "text": "hello", "at": "2026-01-01T00:00:00Z"}],
        ttl_seconds=3600,
    )
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"{URL}/s1"
    read = await api.get(f"{URL}/s1", headers=as_())
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    assert read.json() == created.json()
    body = read.json()
    assert body["variables"] == {"lang": "en", "n": [1, 2.5, None]}
    assert body["cursor"] == {"flow": "acme_support_flow", "node": "greet", "version": "1.0"}
    assert body["transcript"][0]["role"] == "user" and body["expires_at"] is not None
    duplicate = await api.post(URL, json={"session_id": "s1"}, headers=as_())
    assert_problem(duplicate, 409, "session.exists")


async def test_sessions_without_a_team_are_the_default_teams(api: httpx.AsyncClient) -> None:
    response = await api.post(URL, json={"session_id": "s1"}, headers=as_(team=None))
    assert response.json()["team_id"] == "default"
    assert await _ids(api, as_(team=None)) == ["s1"]
    assert await _ids(api) == []  # support's listing


async def test_paging_with_opaque_cursors(api: httpx.AsyncClient) -> None:
    for number in range(5):
        await _create(api, f"s{number}")
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(URL, params=params, headers=as_())).json()
        seen += [item["session_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor) and "support" not in cursor  # opaque
    assert seen == [f"s{n}" for n in range(5)]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 0}, "page.limit_invalid"),
        ({"limit": 1001}, "page.limit_invalid"),
        ({"limit": -5}, "page.limit_invalid"),
        ({"limit": "ten"}, "request.invalid"),
        ({"cursor": "not-a-cursor"}, "page.cursor_invalid"),
        ({"cursor": "x" * 5000}, "page.cursor_invalid"),
    ],
)
async def test_bad_paging_is_400(api: httpx.AsyncClient, params: dict[str, Any], code: str) -> None:
    assert_problem(await api.get(URL, params=params, headers=as_()), 400, code)


async def test_a_cursor_of_another_team_is_refused(api: httpx.AsyncClient) -> None:
    for number in range(3):
        await _create(api, f"s{number}")
    cursor = (await api.get(URL, params={"limit": 1}, headers=as_())).json()["next_cursor"]
    other = await api.get(URL, params={"cursor": cursor}, headers=as_(team="sales"))
    assert_problem(other, 400, "page.cursor_invalid")
    tenant = await api.get(URL, params={"cursor": cursor}, headers=as_(tenant="bigcorp"))
    assert tenant.status_code == 200 and tenant.json()["items"] == []


async def test_patch_needs_a_matching_if_match(api: httpx.AsyncClient) -> None:
    await _create(api, "s1", variables={"a": 1, "b": {"c": 2, "d": 3}})
    patch = {
        "variables": {"b": {"c": None, "e": 4}, "z": True},
        "append": [{"role": "user", "text": "hi"}],
    }
    missing = await api.patch(f"{URL}/s1", json=patch, headers=as_())
    assert_problem(missing, 428, "precondition.required")
    for stale in ('"2"', 'W/"1"', '"abc"'):
        refused = await api.patch(f"{URL}/s1", json=patch, headers=as_() | {"If-Match": stale})
        assert_problem(refused, 412, "precondition.failed")
    assert (await api.get(f"{URL}/s1", headers=as_())).json()["revision"] == 1
    changed = await api.patch(f"{URL}/s1", json=patch, headers=as_() | {"If-Match": '"7", "1"'})
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    body = changed.json()
    assert body["variables"] == {"a": 1, "b": {"d": 3, "e": 4}, "z": True}
    assert [e["text"] for e in body["transcript"]] == ["hi"]
    again = await api.patch(f"{URL}/s1", json={"cursor": None}, headers=as_() | {"If-Match": "*"})
    assert again.json()["revision"] == 3 and again.json()["variables"] == body["variables"]


async def test_put_replaces_the_content(api: httpx.AsyncClient) -> None:
    await _create(api, "s1", variables={"a": 1}, user_id="u-1")
    replaced = await api.put(
        f"{URL}/s1",
        json={"variables": {"b": 2}, "cursor": {"flow": "f", "node": "n"}},
        headers=as_() | {"If-Match": '"1"'},
    )
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert (body["variables"], body["user_id"], body["revision"]) == ({"b": 2}, "u-1", 2)
    assert_problem(
        await api.put(f"{URL}/s1", json={}, headers=as_() | {"If-Match": '"1"'}),
        412,
        "precondition.failed",
    )
    assert_problem(await api.put(f"{URL}/s1", json={}, headers=as_()), 428, "precondition.required")


@pytest.mark.parametrize("header", ["1", '"1', "W/1", '"1" "2"', ""])
async def test_a_malformed_if_match_is_400(api: httpx.AsyncClient, header: str) -> None:
    await _create(api, "s1")
    response = await api.patch(f"{URL}/s1", json={}, headers=as_() | {"If-Match": header})
    assert_problem(response, 400, "precondition.invalid")


async def test_racing_changes_with_one_etag_make_one_winner(api: httpx.AsyncClient) -> None:
    await _create(api, "s1")
    results = await asyncio.gather(
        *(
            api.patch(
                f"{URL}/s1",
                json={"variables": {"writer": n}},
                headers=as_() | {"If-Match": '"1"'},
            )
            for n in range(6)
        )
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 412, 412, 412, 412, 412]
    for refused in (r for r in results if r.status_code == 412):
        assert refused.json()["code"] in {"precondition.failed", "session.revision_mismatch"}
    final = (await api.get(f"{URL}/s1", headers=as_())).json()
    winner = next(r for r in results if r.status_code == 200).json()
    assert final["revision"] == 2 and final["variables"] == winner["variables"]


async def test_delete_with_and_without_if_match(api: httpx.AsyncClient) -> None:
    await _create(api, "s1")
    await _create(api, "s2")
    stale = await api.delete(f"{URL}/s1", headers=as_() | {"If-Match": '"5"'})
    assert_problem(stale, 412, "precondition.failed")
    assert (await api.delete(f"{URL}/s1", headers=as_() | {"If-Match": '"1"'})).status_code == 204
    assert (await api.delete(f"{URL}/s2", headers=as_())).status_code == 204
    assert await _ids(api) == []
    assert_problem(await api.delete(f"{URL}/s2", headers=as_()), 404, "session.not_found")
    assert_problem(
        await api.delete(f"{URL}/s2", headers=as_() | {"If-Match": "*"}), 404, "session.not_found"
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"session_id": "BAD"}, "id.invalid"),
        ({"session_id": "a/../b"}, "id.invalid"),
        ({"session_id": "s" * 65}, "id.invalid"),
        ({"session_id": "s1", "channel_id": "Slack!"}, "id.invalid"),
        ('{"session_id": "s1", "variables": {"x": 1e999}}', "session.invalid"),
        ('{"session_id": "s1", "variables": {"x": NaN}}', "session.invalid"),
        ('{"session_id": "s1"', "request.invalid"),
        ({"session_id": "s1", "variables": {"x": 2**64}}, "session.invalid"),
        ({"session_id": "s1", "user_id": "u" * 300}, "session.invalid"),
        *[
            ({"session_id": "s1", "user_id": f"u{c}1"}, "session.invalid")
            for c in ("\x00", "\r\n", "\n", "\x1b", "\x7f", "\x85", "\u2028")
        ],
        ({"session_id": "s1", "user_id": ""}, "session.invalid"),
        ({"session_id": "s1", "cursor": {"flow": "Bad Flow", "node": "n"}}, "session.invalid"),
        ({"session_id": "s1", "unknown": 1}, "request.invalid"),
        ({"session_id": "s1", "ttl_seconds": 0}, "request.invalid"),
        ({"session_id": "s1", "ttl_seconds": 1e30}, "request.invalid"),
        (
            {
                "session_id": "s1",
                "transcript": [{"role": "u", "text": "t", "at": "2026-01-01T00:00:00"}],
            },
            "request.invalid",
        ),
        ({}, "request.invalid"),
    ],
)
async def test_bad_input_is_400_and_writes_nothing(
    api: httpx.AsyncClient, body: dict[str, Any] | str, code: str
) -> None:
    content = (
        body.encode() if isinstance(body, str) else httpx.Request("POST", "/", json=body).content
    )
    response = await api.post(
        URL, content=content, headers=as_() | {"Content-Type": "application/json"}
    )
    assert_problem(response, 400, code)
    assert await _ids(api) == []


async def test_a_user_id_problem_says_which_character(api: httpx.AsyncClient) -> None:
    body = {"session_id": "s1", "user_id": "alice\r\nadmin"}
    response = await api.post(URL, json=body, headers=as_())
    detail = str(assert_problem(response, 400, "session.invalid")["detail"])
    assert "control characters or line breaks: U+000D at position 5" in detail
    assert (await api.post(URL, json={**body, "user_id": "Ålice ✓"}, headers=as_())).is_success


def test_the_user_id_rule_is_in_the_openapi_document(app: Any) -> None:
    schema = app.openapi()["components"]["schemas"]["SessionCreate"]["properties"]["user_id"]
    assert schema["maxLength"] == 256 and schema["minLength"] == 1
    assert re.fullmatch(schema["pattern"], "u-1") and not re.fullmatch(schema["pattern"], "u\n")


async def test_deeply_nested_or_huge_bodies_are_refused(api: httpx.AsyncClient) -> None:
    deep = {"session_id": "s1", "variables": {"v": _nested(40)}}
    assert_problem(await api.post(URL, json=deep, headers=as_()), 400, "session.invalid")
    await _create(api, "s2")
    patch = {"variables": _nested_object(40)}
    refused = await api.patch(f"{URL}/s2", json=patch, headers=as_() | {"If-Match": '"1"'})
    assert_problem(refused, 400, "session.invalid")
    huge = {"session_id": "s3", "variables": {"v": "x" * (5 * 1024 * 1024)}}
    assert_problem(await api.post(URL, json=huge, headers=as_()), 413, "request.too_large")
    big = {"session_id": "s4", "variables": {"v": "x" * (2 * 1024 * 1024)}}
    assert_problem(await api.post(URL, json=big, headers=as_()), 413, "session.too_large")
    assert await _ids(api) == ["s2"]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _nested_object(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


async def test_viewers_read_but_do_not_write(api: httpx.AsyncClient) -> None:
    await _create(api, "s1")
    viewer = as_(role=Role.VIEWER)
    assert (await api.get(URL, headers=viewer)).status_code == 200
    assert (await api.get(f"{URL}/s1", headers=viewer)).status_code == 200
    writes = [
        api.post(URL, json={"session_id": "s2"}, headers=viewer),
        api.patch(f"{URL}/s1", json={}, headers=viewer | {"If-Match": '"1"'}),
        api.put(f"{URL}/s1", json={}, headers=viewer | {"If-Match": '"1"'}),
        api.delete(f"{URL}/s1", headers=viewer),
    ]
    for refused in await asyncio.gather(*writes):
        assert_problem(refused, 403, "auth.role_forbidden")
    assert await _ids(api) == ["s1"]
    assert (await api.get(f"{URL}/s1", headers=as_())).json()["revision"] == 1


@pytest.mark.parametrize(
    "other", [as_(tenant="bigcorp"), as_(team="sales"), as_(tenant="bigcorp", team=None)]
)
async def test_another_tenants_or_teams_session_is_404_like_a_missing_one(
    api: httpx.AsyncClient, other: dict[str, str]
) -> None:
    before = [
        await api.get(f"{URL}/s1", headers=other),
        await api.patch(f"{URL}/s1", json={}, headers=other | {"If-Match": '"1"'}),
        await api.put(f"{URL}/s1", json={}, headers=other | {"If-Match": "*"}),
        await api.delete(f"{URL}/s1", headers=other),
    ]
    await _create(api, "s1", variables={"secret": "acme-only"})
    after = [
        await api.get(f"{URL}/s1", headers=other),
        await api.patch(f"{URL}/s1", json={}, headers=other | {"If-Match": '"1"'}),
        await api.put(f"{URL}/s1", json={}, headers=other | {"If-Match": "*"}),
        await api.delete(f"{URL}/s1", headers=other),
    ]
    for missing, foreign in zip(before, after, strict=True):
        assert_problem(foreign, 404, "session.not_found")
        assert foreign.json() == missing.json()
        assert "acme-only" not in foreign.text
    listing = await api.get(URL, headers=other)
    assert listing.json() == {"items": [], "next_cursor": None}
    mine = (await api.get(f"{URL}/s1", headers=as_())).json()
    assert (mine["revision"], mine["variables"]) == (1, {"secret": "acme-only"})
    # The same id in the other tenant or team is another session.
    assert (await api.post(URL, json={"session_id": "s1"}, headers=other)).status_code == 201

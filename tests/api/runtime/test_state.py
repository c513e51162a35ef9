"""``/api/v1/state/{session_id}``: a session's working memory in the caller's team."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tenantry.tenancy.access.schemas import Role
from tests.api.runtime.support import as_, assert_problem

URL = "/api/v1/state"


async def test_put_get_delete(api: httpx.AsyncClient) -> None:
    value = {"step": 2, "answers": ["a", 1.5, None, True], "nested": {"k": {}}}
    written = await api.put(f"{URL}/s1", json=value, headers=as_())
    assert written.status_code == 204, written.text
    read = await api.get(f"{URL}/s1", headers=as_())
    assert read.json() == {"session_id": "s1", "team_id": "support", "value": value}
    assert (await api.put(f"{URL}/s1", json="replaced", headers=as_())).status_code == 204
    assert (await api.get(f"{URL}/s1", headers=as_())).json()["value"] == "replaced"
    assert (await api.delete(f"{URL}/s1", headers=as_())).status_code == 204
    assert_problem(await api.get(f"{URL}/s1", headers=as_()), 404, "state.not_found")
    assert_problem(await api.delete(f"{URL}/s1", headers=as_()), 404, "state.not_found")


async def test_scalars_and_the_default_team(api: httpx.AsyncClient) -> None:
    values: tuple[object, ...] = (0, False, "", [], 3.25)
    for value in values:
        assert (await api.put(f"{URL}/s1", json=value, headers=as_(team=None))).status_code == 204
        read = (await api.get(f"{URL}/s1", headers=as_(team=None))).json()
        assert (read["value"], read["team_id"]) == (value, "default")


async def test_a_ttl_expires_the_value(api: httpx.AsyncClient) -> None:
    response = await api.put(f"{URL}/s1", params={"ttl": 0.05}, json=1, headers=as_())
    assert response.status_code == 204
    for _ in range(200):  # expiry is the store's clock: wait for it, never assert a duration
        if (await api.get(f"{URL}/s1", headers=as_())).status_code == 404:
            break
        await asyncio.sleep(0.02)
    assert_problem(await api.get(f"{URL}/s1", headers=as_()), 404, "state.not_found")


@pytest.mark.parametrize(
    ("path", "params", "content", "code"),
    [
        ("s1", {}, b"null", "state.value_invalid"),
        ("s1", {}, b'{"x": NaN}', "state.value_invalid"),
        ("s1", {}, b"[1e999]", "state.value_invalid"),
        ("s1", {"ttl": 0}, b"1", "state.ttl_invalid"),
        ("s1", {"ttl": -1}, b"1", "state.ttl_invalid"),
        ("s1", {"ttl": "inf"}, b"1", "state.ttl_invalid"),
        ("s1", {"ttl": "nan"}, b"1", "state.ttl_invalid"),
        ("s1", {"ttl": "soon"}, b"1", "request.invalid"),
        ("s1", {}, b"{not json", "request.invalid"),
        ("s1", {}, b"", "request.invalid"),
        ("BAD", {}, b"1", "id.invalid"),
        ("a..b", {}, b"1", "id.invalid"),
        ("s" * 65, {}, b"1", "id.invalid"),
    ],
)
async def test_bad_input_is_400_and_writes_nothing(
    api: httpx.AsyncClient, path: str, params: dict[str, Any], content: bytes, code: str
) -> None:
    headers = as_() | {"Content-Type": "application/json"}
    response = await api.put(f"{URL}/{path}", params=params, content=content, headers=headers)
    assert_problem(response, 400, code)
    if path == "s1":
        assert_problem(await api.get(f"{URL}/s1", headers=as_()), 404, "state.not_found")


async def test_values_over_the_cap_are_refused(api: httpx.AsyncClient) -> None:
    over_cap = "x" * (300 * 1024)
    assert_problem(await api.put(f"{URL}/s1", json=over_cap, headers=as_()), 413, "state.too_large")
    over_body = "x" * (2 * 1024 * 1024)
    refused = await api.put(f"{URL}/s1", json=over_body, headers=as_())
    assert_problem(refused, 413, "request.too_large")
    assert_problem(await api.get(f"{URL}/s1", headers=as_()), 404, "state.not_found")


async def test_viewers_read_but_do_not_write(api: httpx.AsyncClient) -> None:
    await api.put(f"{URL}/s1", json={"a": 1}, headers=as_())
    viewer = as_(role=Role.VIEWER)
    assert (await api.get(f"{URL}/s1", headers=viewer)).json()["value"] == {"a": 1}
    assert_problem(await api.put(f"{URL}/s1", json=2, headers=viewer), 403, "auth.role_forbidden")
    assert_problem(await api.delete(f"{URL}/s1", headers=viewer), 403, "auth.role_forbidden")
    assert (await api.get(f"{URL}/s1", headers=as_())).json()["value"] == {"a": 1}


@pytest.mark.parametrize("other", [as_(tenant="bigcorp"), as_(team="sales"), as_(team=None)])
async def test_another_tenants_or_teams_state_is_404_like_missing(
    api: httpx.AsyncClient, other: dict[str, str]
) -> None:
    before = [
        await api.get(f"{URL}/s1", headers=other),
        await api.delete(f"{URL}/s1", headers=other),
    ]
    await api.put(f"{URL}/s1", json={"owner": "acme-support"}, headers=as_())
    after = [
        await api.get(f"{URL}/s1", headers=other),
        await api.delete(f"{URL}/s1", headers=other),
    ]
    for missing, foreign in zip(before, after, strict=True):
        assert_problem(foreign, 404, "state.not_found")
        assert foreign.json() == missing.json()
    assert (await api.put(f"{URL}/s1", json="theirs", headers=other)).status_code == 204
    assert (await api.get(f"{URL}/s1", headers=as_())).json()["value"] == {"owner": "acme-support"}
    assert (await api.get(f"{URL}/s1", headers=other)).json()["value"] == "theirs"

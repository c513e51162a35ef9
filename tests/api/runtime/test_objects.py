"""``/api/v1/objects``: raw bytes under relative keys, listed by prefix with opaque cursors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tenantry.tenancy.access.schemas import Role
from tests.api.runtime.support import as_, assert_problem

URL = "/api/v1/objects"


async def _keys(api: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    listing = await api.get(URL, params=params, headers=headers)
    assert listing.status_code == 200, listing.text
    return [item["key"] for item in listing.json()["items"]]


async def test_put_get_list_delete(api: httpx.AsyncClient) -> None:
    data = bytes(range(256)) * 10
    written = await api.put(
        f"{URL}/reports/2026/q1.bin", content=data, headers=as_() | {"Content-Type": "image/png"}
    )
    assert written.status_code == 200 and written.json() == {
        "key": "reports/2026/q1.bin",
        "size": 2560,
        "content_type": "image/png",
        "etag": written.headers["etag"],
    }
    read = await api.get(f"{URL}/reports/2026/q1.bin", headers=as_())
    assert read.content == data
    assert read.headers["content-type"] == "image/png"
    assert read.headers["x-content-type-options"] == "nosniff"
    assert read.headers["etag"] == written.headers["etag"]
    assert await _keys(api, as_()) == ["reports/2026/q1.bin"]
    assert (await api.put(f"{URL}/empty", content=b"", headers=as_())).json()["size"] == 0
    assert (await api.get(f"{URL}/empty", headers=as_())).content == b""
    assert (await api.delete(f"{URL}/reports/2026/q1.bin", headers=as_())).status_code == 204
    assert_problem(
        await api.get(f"{URL}/reports/2026/q1.bin", headers=as_()), 404, "object.not_found"
    )
    assert_problem(
        await api.delete(f"{URL}/reports/2026/q1.bin", headers=as_()), 404, "object.not_found"
    )


async def test_listing_by_prefix_and_page(api: httpx.AsyncClient) -> None:
    keys = [f"a/{n:02}" for n in range(7)] + ["b/1", "ab"]
    for key in keys:
        await api.put(f"{URL}/{key}", content=key.encode(), headers=as_())
    assert await _keys(api, as_(), prefix="a/") == keys[:7]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        page = (await api.get(URL, params=params, headers=as_())).json()
        seen += [item["key"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 3, "cursor": page["next_cursor"]}
    assert seen == sorted(keys)
    first = (await api.get(URL, params={"limit": 1, "prefix": "a/"}, headers=as_())).json()
    moved = await api.get(
        URL, params={"cursor": first["next_cursor"], "prefix": "b/"}, headers=as_()
    )
    assert_problem(moved, 400, "page.cursor_invalid")


@pytest.mark.parametrize(
    "key",
    ["a/../b", "a//b", "./a", "a/.", "..", ".tenantry/owner", "a\\b", "a\x00b", "a\nb", "x" * 1100],
)
async def test_bad_keys_are_400_and_write_nothing(api: httpx.AsyncClient, key: str) -> None:
    # Percent-encoded so that the client sends the key as it is (it would resolve dot segments).
    path = f"{URL}/" + quote(key, safe="/").replace(".", "%2E")
    for method, content in (("PUT", b"x"), ("GET", None), ("DELETE", None)):
        response = await api.request(method, path, content=content, headers=as_())
        assert_problem(response, 400, "object_key.invalid")
    assert await _keys(api, as_()) == []


async def test_an_empty_key_and_bad_listings_are_400(api: httpx.AsyncClient) -> None:
    assert_problem(await api.put(f"{URL}/", content=b"x", headers=as_()), 400, "object_key.invalid")
    for params, code in (
        ({"prefix": "../"}, "object_key.invalid"),
        ({"limit": 0}, "page.limit_invalid"),
        ({"limit": 5000}, "page.limit_invalid"),
        ({"cursor": "!!!"}, "page.cursor_invalid"),
    ):
        assert_problem(await api.get(URL, params=params, headers=as_()), 400, code)


async def test_objects_over_the_cap_are_refused(api: httpx.AsyncClient) -> None:
    too_big = b"x" * (16 * 1024 * 1024 + 1)
    refused = await api.put(f"{URL}/big", content=too_big, headers=as_())
    assert_problem(refused, 413, "request.too_large")
    assert await _keys(api, as_()) == []


async def test_viewers_read_but_do_not_write(api: httpx.AsyncClient) -> None:
    await api.put(f"{URL}/k", content=b"v", headers=as_())
    viewer = as_(role=Role.VIEWER)
    assert (await api.get(f"{URL}/k", headers=viewer)).content == b"v"
    assert await _keys(api, viewer) == ["k"]
    put = await api.put(f"{URL}/k", content=b"w", headers=viewer)
    assert_problem(put, 403, "auth.role_forbidden")
    assert_problem(await api.delete(f"{URL}/k", headers=viewer), 403, "auth.role_forbidden")
    assert (await api.get(f"{URL}/k", headers=as_())).content == b"v"


async def test_another_tenants_object_is_404_like_missing(api: httpx.AsyncClient) -> None:
    other = as_(tenant="bigcorp")
    before = [await api.get(f"{URL}/k", headers=other), await api.delete(f"{URL}/k", headers=other)]
    await api.put(f"{URL}/k", content=b"acme-only", headers=as_())
    after = [await api.get(f"{URL}/k", headers=other), await api.delete(f"{URL}/k", headers=other)]
    for missing, foreign in zip(before, after, strict=True):
        assert_problem(foreign, 404, "object.not_found")
        assert foreign.json() == missing.json()
    assert await _keys(api, other) == []
    escape = await api.get(URL, params={"prefix": "../acme/"}, headers=other)
    assert_problem(escape, 400, "object_key.invalid")
    assert (await api.put(f"{URL}/k", content=b"bigcorp", headers=other)).status_code == 200
    assert (await api.get(f"{URL}/k", headers=as_())).content == b"acme-only"
    assert (await api.get(f"{URL}/k", headers=other)).content == b"bigcorp"


async def test_head_answers_gets_headers_without_the_body(api: httpx.AsyncClient) -> None:
    await api.put(
        f"{URL}/r.csv", content=b"a,b\n1,2\n", headers=as_() | {"Content-Type": "text/csv"}
    )
    got = await api.get(f"{URL}/r.csv", headers=as_())
    head = await api.head(f"{URL}/r.csv", headers=as_())
    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "content-type", "x-content-type-options", "content-security-policy"):
        assert head.headers[name] == got.headers[name], name
    assert head.headers["content-length"] == "8"
    again = await api.head(f"{URL}/r.csv", headers=as_() | {"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == got.headers["etag"]
    assert (await api.head(f"{URL}/nope", headers=as_())).status_code == 404
    assert (await api.head(f"{URL}/r.csv", headers=as_(tenant="bigcorp"))).status_code == 404
    assert (await api.head(f"{URL}/r.csv", headers=as_(role=Role.VIEWER))).status_code == 200
    for bare in ({}, {"Authorization": "Bearer forged"}):  # no or a bad credential: as GET
        refused = await api.get(f"{URL}/r.csv", headers=bare)
        assert (await api.head(f"{URL}/r.csv", headers=bare)).status_code == refused.status_code

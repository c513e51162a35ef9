"""``/api/v1/objects``: strong ETags that change with every write, optional ``If-Match`` on PUT
and DELETE, ``If-None-Match: *`` to create only, and 304 for a GET of what the client holds."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.runtime.support import as_, assert_problem

URL = "/api/v1/objects"
DOC = f"{URL}/docs/a.txt"
STRONG = re.compile(r'"[0-9a-f]{32}"')


async def _put(
    api: httpx.AsyncClient, body: bytes, *, tenant: str = "acme", **conditions: str
) -> httpx.Response:
    headers = as_(tenant) | {k.replace("_", "-").title(): v for k, v in conditions.items()}
    return await api.put(DOC, content=body, headers=headers)


async def _read(api: httpx.AsyncClient, tenant: str = "acme") -> httpx.Response:
    return await api.get(DOC, headers=as_(tenant))


async def test_every_write_has_a_new_strong_etag_that_reads_return(
    api: httpx.AsyncClient,
) -> None:
    tags = []
    for body in (b"one", b"one", b"two"):  # the same bytes again are a new write all the same
        written = await _put(api, body)
        assert STRONG.fullmatch(written.headers["etag"]), written.headers["etag"]
        assert written.json()["etag"] == written.headers["etag"]
        read = await _read(api)
        assert read.headers["etag"] == written.headers["etag"] == (await _read(api)).headers["etag"]
        tags.append(written.headers["etag"])
    assert len(set(tags)) == 3


async def test_the_same_bytes_in_two_tenants_have_unrelated_etags(api: httpx.AsyncClient) -> None:
    mine, theirs = await _put(api, b"same"), await _put(api, b"same", tenant="bigcorp")
    assert mine.headers["etag"] != theirs.headers["etag"]


async def test_if_match_writes_over_the_etag_it_names_only(api: httpx.AsyncClient) -> None:
    first = (await _put(api, b"one")).headers["etag"]
    second = await _put(api, b"two", if_match=first)
    assert second.status_code == 200, second.text
    stale = await _put(api, b"lost update", if_match=first)
    assert_problem(stale, 412, "precondition.failed")
    listed = await _put(api, b"three", if_match=f'"nope", {second.headers["etag"]}')
    assert listed.status_code == 200, listed.text
    weak = await _put(api, b"weak", if_match=f"W/{listed.headers['etag']}")
    assert_problem(weak, 412, "precondition.failed")  # If-Match compares strongly
    assert (await _put(api, b"any", if_match="*")).status_code == 200
    assert (await _read(api)).content == b"any"


async def test_if_match_on_no_object_is_412_and_creates_nothing(api: httpx.AsyncClient) -> None:
    for tag in ('"0123456789abcdef0123456789abcdef"', "*"):
        assert_problem(await _put(api, b"x", if_match=tag), 412, "precondition.failed")
    assert_problem(await _read(api), 404, "object.not_found")


async def test_if_none_match_star_creates_only(api: httpx.AsyncClient) -> None:
    created = await _put(api, b"first", if_none_match="*")
    assert created.status_code == 200, created.text
    again = await _put(api, b"second", if_none_match="*")
    assert_problem(again, 412, "precondition.failed")
    read = await _read(api)
    assert (read.content, read.headers["etag"]) == (b"first", created.headers["etag"])
    held = await _put(api, b"third", if_none_match=created.headers["etag"])
    assert_problem(held, 412, "precondition.failed")  # the client holds what is there
    assert (await _put(api, b"fourth", if_none_match='"other"')).status_code == 200


async def test_a_get_of_the_etag_held_is_304_without_a_body(api: httpx.AsyncClient) -> None:
    tag = (await _put(api, b"cached")).headers["etag"]
    for held in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        answer = await api.get(DOC, headers=as_() | {"If-None-Match": held})
        assert (answer.status_code, answer.content) == (304, b""), held
        assert answer.headers["etag"] == tag
    changed = await api.get(DOC, headers=as_() | {"If-None-Match": '"other"'})
    assert (changed.status_code, changed.content) == (200, b"cached")
    await _put(api, b"newer")
    moved = await api.get(DOC, headers=as_() | {"If-None-Match": tag})
    assert (moved.status_code, moved.content) == (200, b"newer")


async def test_delete_honours_if_match(api: httpx.AsyncClient) -> None:
    first = (await _put(api, b"one")).headers["etag"]
    await _put(api, b"two")
    stale = await api.delete(DOC, headers=as_() | {"If-Match": first})
    assert_problem(stale, 412, "precondition.failed")
    assert (await _read(api)).content == b"two"
    current = (await _read(api)).headers["etag"]
    assert (await api.delete(DOC, headers=as_() | {"If-Match": current})).status_code == 204
    missing = await api.delete(DOC, headers=as_() | {"If-Match": current})
    assert_problem(missing, 404, "object.not_found")  # nothing to delete: as without If-Match


@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
@pytest.mark.parametrize("value", ["", "abc", '"a', '"a" "b"', 'W/ "a"', '"a",,'])
async def test_malformed_conditions_are_400_and_change_nothing(
    api: httpx.AsyncClient, header: str, value: str
) -> None:
    await _put(api, b"kept")
    other = "GET" if header == "If-None-Match" else "DELETE"  # the one each takes but PUT
    for method, content in (("PUT", b"new"), (other, None)):
        answer = await api.request(method, DOC, content=content, headers=as_() | {header: value})
        assert_problem(answer, 400, "precondition.invalid")
    assert (await _read(api)).content == b"kept"


async def test_another_tenants_conditions_on_a_key_are_as_on_a_missing_key(
    api: httpx.AsyncClient,
) -> None:
    tag = (await _put(api, b"acme's")).headers["etag"]
    other = as_("bigcorp")
    for conditions in ({"If-Match": tag}, {"If-Match": "*"}):
        refused = await api.put(DOC, content=b"b", headers=other | conditions)
        assert_problem(refused, 412, "precondition.failed")
        gone = await api.delete(DOC, headers=other | conditions)
        assert_problem(gone, 404, "object.not_found")
    for held in (tag, "*"):
        read = await api.get(DOC, headers=other | {"If-None-Match": held})
        assert_problem(read, 404, "object.not_found")
    created = await api.put(DOC, content=b"bigcorp's", headers=other | {"If-None-Match": "*"})
    assert created.status_code == 200, created.text
    mine = await _read(api)
    assert (mine.content, mine.headers["etag"]) == (b"acme's", tag)

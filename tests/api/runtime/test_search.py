"""``/api/v1/search``: index, search and remove documents of the caller's tenant environment."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenantry.tenancy.access.schemas import Role
from tests.api.runtime.support import as_, assert_problem

URL = "/api/v1/search"
DOCS = f"{URL}/documents"


async def _index(api: httpx.AsyncClient, doc_id: str, title: str, body: str, **extra: Any) -> None:
    document = {"doc_id": doc_id, "title": title, "body": body, **extra}
    response = await api.post(DOCS, json=document, headers=as_())
    assert response.status_code == 201 and response.json() == {"doc_id": doc_id}, response.text


async def _found(
    api: httpx.AsyncClient, q: str, headers: dict[str, str] | None = None
) -> list[str]:
    response = await api.get(URL, params={"q": q}, headers=headers or as_())
    assert response.status_code == 200, response.text
    return [hit["doc_id"] for hit in response.json()["items"]]


async def test_index_search_delete(api: httpx.AsyncClient) -> None:
    await _index(api, "inv-1", "Invoice 1", "unpaid invoice for the support team", fields={"n": 1})
    await _index(api, "faq:2", "Refunds", "how refunds work")
    results = (await api.get(URL, params={"q": "invoice"}, headers=as_())).json()
    assert (results["limit"], results["offset"]) == (10, 0)
    (hit,) = results["items"]
    assert (hit["doc_id"], hit["title"], hit["fields"]) == ("inv-1", "Invoice 1", {"n": 1})
    assert "\u00abinvoice\u00bb" in hit["snippet"].lower() and hit["rank"] > 0
    assert set(await _found(api, "invoice or refunds")) == {"inv-1", "faq:2"}
    await _index(api, "inv-1", "Invoice 1", "paid now")  # replaces
    assert await _found(api, "unpaid") == []
    assert (await api.delete(f"{DOCS}/inv-1", headers=as_())).status_code == 204
    assert_problem(
        await api.delete(f"{DOCS}/inv-1", headers=as_()), 404, "search.document_not_found"
    )
    assert await _found(api, "paid") == []


async def test_paging(api: httpx.AsyncClient) -> None:
    for n in range(5):
        await _index(api, f"d{n}", f"doc {n}", "common words here")
    first = await api.get(URL, params={"q": "common", "limit": 2}, headers=as_())
    rest = await api.get(URL, params={"q": "common", "limit": 10, "offset": 2}, headers=as_())
    ids = [h["doc_id"] for h in first.json()["items"] + rest.json()["items"]]
    assert sorted(ids) == [f"d{n}" for n in range(5)] and len(set(ids)) == 5


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": ""}, "search.query_invalid"),
        ({"q": "   "}, "search.query_invalid"),
        ({"q": "x" * 300}, "search.query_invalid"),
        ({"q": "a\x00b"}, "search.query_invalid"),
        ({"q": "x", "limit": 0}, "search.page_invalid"),
        ({"q": "x", "limit": 101}, "search.page_invalid"),
        ({"q": "x", "offset": -1}, "search.page_invalid"),
        ({"q": "x", "limit": "many"}, "request.invalid"),
        ({}, "request.invalid"),
    ],
)
async def test_bad_queries_are_400(
    api: httpx.AsyncClient, params: dict[str, Any], code: str
) -> None:
    assert_problem(await api.get(URL, params=params, headers=as_()), 400, code)


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"doc_id": "bad id", "title": "t", "body": "b"}, "search.doc_id_invalid"),
        ({"doc_id": "../x", "title": "t", "body": "b"}, "search.doc_id_invalid"),
        ({"doc_id": "d" * 129, "title": "t", "body": "b"}, "search.doc_id_invalid"),
        ({"doc_id": "d", "title": "t\x00", "body": "b"}, "search.document_invalid"),
        ({"doc_id": "d", "title": "t" * 1001, "body": "b"}, "search.document_too_large"),
        ({"doc_id": "d", "title": "t", "body": "b" * 140_000}, "search.document_too_large"),
        (
            {"doc_id": "d", "title": "t", "body": "b", "fields": {"x": "\x00"}},
            "search.document_invalid",
        ),
        ({"doc_id": "d", "title": "t"}, "request.invalid"),
        ({"doc_id": "d", "title": "t", "body": "b", "extra": 1}, "request.invalid"),
    ],
)
async def test_bad_documents_are_400_and_index_nothing(
    api: httpx.AsyncClient, document: dict[str, Any], code: str
) -> None:
    status = 413 if code.endswith("too_large") else 400
    assert_problem(await api.post(DOCS, json=document, headers=as_()), status, code)
    assert await _found(api, "t or b") == []


async def test_viewers_search_but_do_not_index(api: httpx.AsyncClient) -> None:
    await _index(api, "d1", "title", "findable")
    viewer = as_(role=Role.VIEWER)
    assert await _found(api, "findable", viewer) == ["d1"]
    document = {"doc_id": "d2", "title": "t", "body": "findable"}
    assert_problem(await api.post(DOCS, json=document, headers=viewer), 403, "auth.role_forbidden")
    assert_problem(await api.delete(f"{DOCS}/d1", headers=viewer), 403, "auth.role_forbidden")
    assert await _found(api, "findable") == ["d1"]


async def test_another_tenants_documents_are_invisible(api: httpx.AsyncClient) -> None:
    other = as_(tenant="bigcorp")
    missing = await api.delete(f"{DOCS}/d1", headers=other)
    await _index(api, "d1", "acme only", "confidential acme roadmap")
    assert await _found(api, "confidential", other) == []
    assert await _found(api, "confidential or roadmap or acme", other) == []
    foreign = await api.delete(f"{DOCS}/d1", headers=other)
    assert_problem(foreign, 404, "search.document_not_found")
    assert foreign.json() == missing.json()
    assert await _found(api, "confidential") == ["d1"]

"""The search contract on every backend (SQLite FTS5, PostgreSQL schema, PostgreSQL database):
documents in, best matches out, web-search syntax, paging, and bad input refused."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tenantry.backends.postgres.search import PostgresSearchIndex
from tenantry.backends.sqlite.search import SqliteSearchIndex
from tenantry.core.errors import InvalidInput
from tenantry.runtime.data import TenantData
from tenantry.runtime.search import SearchIndex
from tenantry.runtime.search.schemas import BODY_LIMIT, QUERY_LIMIT, TITLE_LIMIT
from tests.integration.runtime.conftest import Spaces

DOCS = {
    "kb-1": ("Resetting your password", "Open settings, choose security, then reset password."),
    "kb-2": (
        "Billing cycles",
        "Invoices are sent monthly. Password changes do not affect billing.",
    ),
    "kb-3": ("Shipping times", "A parcel ships within two days to most countries."),
    "kb-4": ("Returns", "Return a parcel within thirty days for a refund."),
}


def index_for(data: TenantData) -> SearchIndex:
    if data.dialect == "postgresql":
        return PostgresSearchIndex(data)
    return SqliteSearchIndex(data)


async def filled(spaces: Spaces) -> SearchIndex:
    index = index_for(await spaces.data())
    for doc_id, (title, body) in DOCS.items():
        await index.index(doc_id, title=title, body=body, fields={"lang": "en", "n": 1})
    return index


async def ids(index: SearchIndex, query: str, **paging: int) -> list[str]:
    return [hit.doc_id for hit in await index.search(query, **paging)]


async def stored(index: SearchIndex) -> int:
    data: TenantData = index._data  # type: ignore[attr-defined]
    async with data.transaction() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM tenantry_search"))).scalar_one())


async def test_a_word_finds_its_documents_title_first(spaces: Spaces) -> None:
    index = await filled(spaces)
    hits = await index.search("password")
    assert [hit.doc_id for hit in hits] == ["kb-1", "kb-2"]  # kb-1 has it in the title
    assert hits[0].rank > hits[1].rank
    assert hits[0].title == "Resetting your password"
    assert "\u00abpassword\u00bb" in hits[0].snippet.lower()
    assert hits[0].fields == {"lang": "en", "n": 1}


async def test_words_are_anded_and_case_is_ignored(spaces: Spaces) -> None:
    index = await filled(spaces)
    assert await ids(index, "PARCEL refund") == ["kb-4"]
    assert await ids(index, "parcel nonexistentword") == []


async def test_phrases_or_and_exclusion(spaces: Spaces) -> None:
    index = await filled(spaces)
    assert await ids(index, '"reset password"') == ["kb-1"]
    assert await ids(index, '"password reset"') == []
    assert sorted(await ids(index, "invoices or shipping")) == ["kb-2", "kb-3"]
    assert await ids(index, "parcel -refund") == ["kb-3"]
    assert await ids(index, "-refund") == []  # nothing positive: matches nothing


async def test_indexing_again_replaces_the_document(spaces: Spaces) -> None:
    index = await filled(spaces)
    await index.index("kb-3", title="Delivery", body="Couriers deliver in a day.")
    assert await ids(index, "shipping") == []
    hits = await index.search("couriers")
    assert [(h.doc_id, h.title, h.fields) for h in hits] == [("kb-3", "Delivery", {})]
    assert await stored(index) == 4


async def test_delete_removes_once(spaces: Spaces) -> None:
    index = await filled(spaces)
    assert await index.delete("kb-1") is True
    assert await index.delete("kb-1") is False
    assert await index.delete("never-indexed") is False
    assert await ids(index, "password") == ["kb-2"]


async def test_paging_is_stable(spaces: Spaces) -> None:
    index = index_for(await spaces.data())
    for n in range(12):
        await index.index(f"doc-{n:02}", title="same", body="identical words here")
    pages = [await ids(index, "identical", limit=5, offset=o) for o in (0, 5, 10)]
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [i for page in pages for i in page] == [f"doc-{n:02}" for n in range(12)]  # ties


async def test_punctuation_and_unicode_are_words_or_nothing(spaces: Spaces) -> None:
    index = await filled(spaces)
    await index.index("u-1", title="Caf\u00e9 menu", body="cr\u00e8me br\u00fbl\u00e9e, 42 kinds")
    assert await ids(index, "cr\u00e8me") == ["u-1"]
    assert await ids(index, "42") == ["u-1"]
    for query in ("*", '"', "()", "-", "--", "or", "OR OR", "^", "::"):
        assert await index.search(query) == []


@pytest.mark.parametrize(
    "query", ["", "   ", "\n\t", "a" * (QUERY_LIMIT + 1), "pass\x00word", None, 42, ["password"]]
)
async def test_a_bad_query_is_refused(spaces: Spaces, query: object) -> None:
    index = await filled(spaces)
    with pytest.raises(InvalidInput) as caught:
        await index.search(query)  # type: ignore[arg-type]
    assert caught.value.code == "search.query_invalid"


@pytest.mark.parametrize(
    ("limit", "offset"), [(0, 0), (101, 0), (-1, 0), (10, -1), (10, 10_001), (True, 0), (1.5, 0)]
)
async def test_a_bad_page_is_refused(spaces: Spaces, limit: object, offset: object) -> None:
    index = await filled(spaces)
    with pytest.raises(InvalidInput) as caught:
        await index.search("password", limit=limit, offset=offset)  # type: ignore[arg-type]
    assert caught.value.code == "search.page_invalid"


BAD_DOC_IDS = [
    "",
    " ",
    "../kb-1",
    "kb/1",
    "kb 1",
    "-kb",
    ".hidden",
    "kb-1\x00",
    "kb\n1",
    "k\u0435-1",  # Cyrillic e, a look-alike
    "\uff4bb-1",  # fullwidth k
    "x" * 129,
    None,
    7,
]


@pytest.mark.parametrize("doc_id", BAD_DOC_IDS)
async def test_a_bad_doc_id_is_refused_and_nothing_changes(spaces: Spaces, doc_id: object) -> None:
    index = await filled(spaces)
    with pytest.raises(InvalidInput) as caught:
        await index.index(doc_id, title="t", body="b")  # type: ignore[arg-type]
    assert caught.value.code == "search.doc_id_invalid"
    with pytest.raises(InvalidInput):
        await index.delete(doc_id)  # type: ignore[arg-type]
    assert await stored(index) == len(DOCS)


def _deep(levels: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(levels):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"title": "nul\x00", "body": "b"}, "search.document_invalid"),
        ({"title": "t", "body": "nul\x00"}, "search.document_invalid"),
        ({"title": None, "body": "b"}, "search.document_invalid"),
        ({"title": "t", "body": b"bytes"}, "search.document_invalid"),
        ({"title": "t" * (TITLE_LIMIT + 1), "body": "b"}, "search.document_too_large"),
        ({"title": "t", "body": "\u00e9" * (BODY_LIMIT // 2 + 1)}, "search.document_too_large"),
        ({"title": "t", "body": "b", "fields": {"n": float("nan")}}, "search.document_invalid"),
        ({"title": "t", "body": "b", "fields": {"s": {1, 2}}}, "search.document_invalid"),
        ({"title": "t", "body": "b", "fields": {1: "int key"}}, "search.document_invalid"),
        ({"title": "t", "body": "b", "fields": ["not", "a", "mapping"]}, "search.document_invalid"),
        ({"title": "t", "body": "b", "fields": {"s": "nul\x00"}}, "search.document_invalid"),
        ({"title": "t", "body": "b", "fields": {"s": "x" * 20_000}}, "search.document_too_large"),
        ({"title": "t", "body": "b", "fields": _deep(100_000)}, "search.document_invalid"),
    ],
)
async def test_a_bad_document_is_refused_and_nothing_changes(
    spaces: Spaces, document: dict[str, object], code: str
) -> None:
    index = await filled(spaces)
    with pytest.raises(InvalidInput) as caught:
        await index.index("kb-1", **document)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert await stored(index) == len(DOCS)
    assert (await index.search("resetting"))[0].title == "Resetting your password"


async def test_the_largest_document_is_accepted(spaces: Spaces) -> None:
    index = index_for(await spaces.data())
    words = " ".join(f"w{n}" for n in range(BODY_LIMIT // 8))
    await index.index("big", title="t" * TITLE_LIMIT, body=words[:BODY_LIMIT])
    assert await ids(index, "w12345") == ["big"]


async def test_documents_are_listed_by_id_in_pages(spaces: Spaces) -> None:
    index = await filled(spaces)
    first = await index.documents(limit=3)
    assert [d.doc_id for d in first] == ["kb-1", "kb-2", "kb-3"]
    rest = await index.documents(after=first[-1].doc_id, limit=3)
    assert [d.doc_id for d in rest] == ["kb-4"]
    assert (rest[0].title, rest[0].body) == DOCS["kb-4"]
    assert json.loads(rest[0].fields_json) == {"lang": "en", "n": 1}

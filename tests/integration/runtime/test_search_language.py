"""Search stems by the tenant's language, on every backend (SQLite FTS5, PostgreSQL schema,
PostgreSQL database): English stemming, no stemming for no or unknown languages, and a language
change that reindexes every document, all or nothing, without crossing tenants."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.backends.postgres.search import PostgresSearchIndex
from tenantry.backends.sqlite.search import SqliteSearchIndex
from tenantry.runtime.data import TenantData
from tenantry.runtime.search.sql import SqlSearchIndex
from tests.integration.runtime.conftest import Spaces, new_tenant

DOCS = {
    "kb-1": ("Resetting your password", "Open settings and choose a new one."),
    "kb-2": ("Returns", "Returned parcels are refunded within thirty days."),
    "kb-3": ("reset password", "The form asks for the old one."),
}


def index_for(data: TenantData, language: str | None) -> SqlSearchIndex:
    if data.dialect == "postgresql":
        return PostgresSearchIndex(data, language=language)
    return SqliteSearchIndex(data, language=language)


async def filled(data: TenantData, language: str | None) -> SqlSearchIndex:
    index = index_for(data, language)
    for doc_id, (title, body) in DOCS.items():
        await index.index(doc_id, title=title, body=body)
    return index


async def ids(index: SqlSearchIndex, query: str) -> list[str]:
    return sorted(hit.doc_id for hit in await index.search(query, limit=100))


async def stored(data: TenantData) -> int:
    async with data.transaction() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM tenantry_search"))).scalar_one())


@pytest.mark.parametrize("language", ["en", "en-US", "en_GB", "English", "eng"])
async def test_english_stems_both_ways(spaces: Spaces, language: str) -> None:
    index = await filled(await spaces.data(), language)
    assert await ids(index, "reset password") == ["kb-1", "kb-3"]
    assert await ids(index, "resetting passwords") == ["kb-1", "kb-3"]
    assert await ids(index, "return parcel") == ["kb-2"]
    assert await ids(index, "refunding") == ["kb-2"]
    hits = {hit.doc_id: hit for hit in await index.search("resets")}
    assert hits["kb-1"].title == "Resetting your password"


@pytest.mark.parametrize(
    "language", [None, "", "tlh", "xx-YY", "klingon", "e", "1234", "en-US" * 20]
)
async def test_no_or_unknown_language_does_not_stem(spaces: Spaces, language: str | None) -> None:
    index = await filled(await spaces.data(), language)
    assert index.language is None
    assert await ids(index, "reset password") == ["kb-3"]
    assert await ids(index, "resetting password") == ["kb-1"]
    assert await ids(index, "refunding") == []


async def test_a_language_the_backend_cannot_stem_is_plain_there(spaces: Spaces) -> None:
    index = index_for(await spaces.data(), "de")
    await index.index("d-1", title="Die Häuser", body="Zwei Häuser am See.")
    found = await ids(index, "Haus")
    assert found == (["d-1"] if spaces.kind != "sqlite" else [])  # FTS5 stems English only
    assert await ids(index, "häuser") == ["d-1"]


async def test_a_language_change_reindexes_every_document(spaces: Spaces) -> None:
    data = await spaces.data()
    plain = await filled(data, None)
    for n in range(40):
        await plain.index(f"bulk-{n}", title=f"Resetting number {n}", body="passwords")
    english = index_for(data, "en")  # the tenant's language changed: bound afresh
    assert await english.reindex() is True
    assert await english.reindex() is False  # idempotent: already stemmed
    assert len(await english.search("reset password", limit=100)) == 42
    assert await stored(data) == len(DOCS) + 40
    back = index_for(data, None)  # and back: plain again, every document still there
    assert await ids(back, "refunding") == []
    assert await ids(back, "reset password") == ["kb-3"]
    assert len(await back.search("resetting", limit=100)) == 41
    assert await stored(data) == len(DOCS) + 40


async def test_documents_written_after_a_change_are_stemmed_alike(spaces: Spaces) -> None:
    data = await spaces.data()
    await filled(data, None)
    english = index_for(data, "en")
    await english.index("kb-4", title="Resets explained", body="")
    stale = index_for(data, None)
    stale._settled_at = float("inf")  # a binding that has not rechecked since the change
    await stale.index("kb-5", title="Resetting again", body="")  # the stored stemming wins
    assert await ids(english, "reset") == ["kb-1", "kb-3", "kb-4", "kb-5"]
    assert await ids(stale, "reset") == ["kb-1", "kb-3", "kb-4", "kb-5"]  # agrees with the index


class Interrupted(Exception):
    pass


async def test_a_failed_reindex_changes_nothing(
    spaces: Spaces, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = await spaces.data()
    await filled(data, None)
    english = index_for(data, "en")
    settle = type(english).settle

    async def crash(self: SqlSearchIndex, conn: AsyncConnection) -> bool:
        assert await settle(self, conn) is True  # every step ran, then the process "dies"
        raise Interrupted

    monkeypatch.setattr(type(english), "settle", crash)
    with pytest.raises(Interrupted):
        await english.search("reset")
    monkeypatch.undo()
    unchanged = index_for(data, None)
    assert await ids(unchanged, "reset password") == ["kb-3"]
    assert await ids(unchanged, "resetting") == ["kb-1"]
    assert await english.reindex() is True  # the next binding does it, whole
    assert await ids(english, "reset password") == ["kb-1", "kb-3"]
    assert await stored(data) == len(DOCS)


async def test_reindexing_one_tenant_never_crosses_to_another(spaces: Spaces) -> None:
    a_data, b_data = await spaces.data(), await spaces.data()
    a = await filled(a_data, None)
    b = index_for(b_data, None)
    await b.index("b-1", title="Resetting bigcorp payroll", body="salary secret")
    a_english = index_for(a_data, "en")
    assert await a_english.reindex() is True
    assert await ids(a_english, "reset") == ["kb-1", "kb-3"]
    assert await ids(a_english, "payroll") == []
    assert await ids(b, "reset") == []  # B still plain, and never sees A's documents
    assert await ids(b, "resetting") == ["b-1"]
    assert await ids(b, "password") == []
    b_english = index_for(b_data, "en")
    assert await ids(b_english, "reset") == ["b-1"]
    assert await ids(a_english, "reset") == ["kb-1", "kb-3"]
    assert await ids(a, "salary") == []


@pytest.mark.postgres
async def test_a_document_in_flight_during_a_reindex_gets_the_new_stemming(
    spaces: Spaces,
) -> None:
    if spaces.kind == "sqlite":
        pytest.skip("SQLite serializes writers: a reindex and a write never overlap")
    data = await spaces.data()
    plain = await filled(data, None)
    english = index_for(data, "en")
    locked, release = asyncio.Event(), asyncio.Event()
    settle = PostgresSearchIndex.settle

    async def slow(self: PostgresSearchIndex, conn: AsyncConnection) -> bool:
        changed = await settle(self, conn)  # holds the language row until commit
        locked.set()
        await release.wait()
        return changed

    english.settle = slow.__get__(english)  # type: ignore[method-assign]
    reindexing = asyncio.create_task(english.reindex())
    await locked.wait()
    writing = asyncio.create_task(plain.index("kb-9", title="Resetting in flight", body=""))
    await asyncio.sleep(0.3)
    assert not writing.done()  # the write waits for the reindex to commit
    release.set()
    await asyncio.gather(reindexing, writing)
    assert await ids(english, "reset") == ["kb-1", "kb-3", "kb-9"]


OLD_ROW = text(
    "INSERT INTO tenantry_search (tenant_id, env_id, doc_id, title, body, fields) "
    "VALUES (:t, :e, :d, :title, :body, '{}')"
)


async def test_documents_indexed_before_the_migration_are_kept_and_restemmed(
    spaces: Spaces,
) -> None:
    tenant = new_tenant()
    data = spaces.source.bind(await spaces.provision(tenant, revision="t0002"))
    async with data.transaction() as conn:  # written by the previous version
        for doc_id, (title, body) in DOCS.items():
            values = {"t": data.tenant_id, "e": data.env_id, "d": doc_id}
            await conn.execute(OLD_ROW, {**values, "title": title, "body": body})
    target = spaces.target(tenant)
    for _ in range(2):  # up, down and up again: the downgrade keeps every document too
        await asyncio.to_thread(spaces.runner.upgrade, target)
        assert await ids(index_for(data, None), "resetting") == ["kb-1"]
        assert await ids(index_for(data, "en"), "reset password") == ["kb-1", "kb-3"]
        await asyncio.to_thread(spaces.runner.downgrade, target, "t0002")
        assert await stored(data) == len(DOCS)
    await asyncio.to_thread(spaces.runner.upgrade, target)
    assert await ids(index_for(data, "en"), "resetting password") == ["kb-1", "kb-3"]

"""Search confinement: an index bound to tenant A never finds, changes or deletes tenant B's
documents, whatever the query or doc id, on every backend — including rows carrying B's ids
planted in A's own table, which only the query-time tenant filter keeps out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tenantry.core.errors import InvalidInput
from tenantry.runtime.data import TenantData
from tenantry.runtime.search import SearchIndex
from tests.integration.runtime.conftest import Spaces, new_tenant
from tests.integration.runtime.test_search import index_for

SECRET = "payroll salary secret bigcorp alpha"
PLANT = text(
    "INSERT INTO tenantry_search (tenant_id, env_id, doc_id, title, body, fields) "
    "VALUES (:t, :e, :d, :title, :body, '{}')"
)
NASTY = [
    "* OR 1=1",
    "' OR 1=1 --",
    '" OR ""="',
    "tenant_id:bigcorp",
    "env_id:prod secret",
    "title:secret OR body:secret",
    "NEAR(secret payroll)",
    "secret*",
    "^secret",
    "{title body}: secret",
    '"unterminated secret',
    'secret" OR "1',
    "secret) OR (1",
    "alpha or secret or payroll or salary",
    "-nothing",
    "\\x00secret",
    "%",
    "_",
    "t_bigcorp__prod.tenantry_search",
]


@dataclass
class Pair:
    a: SearchIndex
    b: SearchIndex
    a_data: TenantData


@pytest.fixture
async def pair(spaces: Spaces) -> AsyncIterator[Pair]:
    a_data, b_data = await spaces.data(), await spaces.data()
    a, b = index_for(a_data), index_for(b_data)
    await a.index("a-1", title="Alpha notes", body="alpha public handbook")
    for n in range(3):
        await b.index(f"b-{n}", title="Secret payroll", body=SECRET)
    await a.index("shared-id", title="alpha shared", body="alpha copy for a")
    await b.index("shared-id", title="secret shared", body=SECRET)
    async with a_data.transaction() as conn:  # B's ids on rows inside A's own space
        for tenant, env in ((b.tenant_id, b.env_id), (a.tenant_id, "staging"), ("x", "prod")):
            values = {"t": tenant, "e": env, "title": "Secret", "body": SECRET}
            await conn.execute(PLANT, {**values, "d": f"planted-{tenant}-{env}"})
    yield Pair(a, b, a_data)


async def only_a(pair: Pair, query: str) -> None:
    try:
        hits = await pair.a.search(query, limit=100)
    except InvalidInput as error:
        assert error.code == "search.query_invalid"
        return
    assert {hit.doc_id for hit in hits} <= {"a-1", "shared-id"}
    assert all("payroll" not in hit.snippet for hit in hits)


@pytest.mark.parametrize("query", [*NASTY, "secret", "payroll", "bigcorp", "shared"])
async def test_a_finds_none_of_bs_documents(pair: Pair, query: str) -> None:
    await only_a(pair, query)
    await only_a(pair, query.replace("bigcorp", pair.b.tenant_id))


async def test_a_query_with_nul_is_refused(pair: Pair) -> None:
    with pytest.raises(InvalidInput) as caught:
        await pair.a.search("secret\x00 OR 1=1")
    assert caught.value.code == "search.query_invalid"


async def test_b_still_finds_its_own(pair: Pair) -> None:
    found = {hit.doc_id for hit in await pair.b.search("payroll", limit=100)}
    assert found == {"b-0", "b-1", "b-2", "shared-id"}


async def test_a_cannot_delete_or_overwrite_bs_documents(pair: Pair) -> None:
    for doc_id in ("b-0", "b-1", "planted-x-prod", f"planted-{pair.a.tenant_id}-staging"):
        assert await pair.a.delete(doc_id) is False
    assert await pair.a.delete("shared-id") is True  # A's own copy only
    await pair.a.index("b-2", title="A's own b-2", body="alpha")
    assert [h.title for h in await pair.b.search("payroll", limit=100) if h.doc_id == "b-2"] == [
        "Secret payroll"
    ]
    assert {hit.doc_id for hit in await pair.b.search("payroll", limit=100)} == {
        "b-0",
        "b-1",
        "b-2",
        "shared-id",
    }


async def test_planted_rows_are_neither_found_nor_deleted(pair: Pair) -> None:
    planted = f"planted-{pair.b.tenant_id}-{pair.b.env_id}"
    assert await pair.a.delete(planted) is False
    async with pair.a_data.transaction() as conn:
        count = "SELECT count(*) FROM tenantry_search WHERE doc_id LIKE 'planted-%'"
        assert (await conn.execute(text(count))).scalar_one() == 3


async def test_environments_of_one_tenant_are_apart(spaces: Spaces) -> None:
    tenant = new_tenant()
    prod = index_for(await spaces.data(tenant, "prod"))
    staging = index_for(await spaces.data(tenant, "staging"))
    await prod.index("doc", title="live", body="production words")
    await staging.index("doc", title="test", body="staging words")
    assert [h.title for h in await prod.search("words")] == ["live"]
    assert await staging.search("production") == []
    assert await staging.delete("doc") is True
    assert [h.title for h in await prod.search("words")] == ["live"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(min_size=0, max_size=40))
async def test_no_query_reaches_b(pair: Pair, query: str) -> None:
    await only_a(pair, query)
    await only_a(pair, f"secret {query} payroll")

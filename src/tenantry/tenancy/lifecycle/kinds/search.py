"""Search documents in archives; they live in the relational space and go with it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from tenantry.runtime.scope import TenantScope
from tenantry.runtime.search.schemas import PAGE_LIMIT, Document
from tenantry.tenancy.lifecycle.archives import Exportable, Record


async def documents(scope: TenantScope) -> AsyncIterator[Document]:
    after: str | None = None
    while True:
        page = await scope.search.documents(after=after, limit=PAGE_LIMIT)
        for document in page:
            yield document
        if len(page) < PAGE_LIMIT:
            return
        after = page[-1].doc_id


async def export(scope: TenantScope) -> AsyncIterator[Record]:
    async for doc in documents(scope):
        meta = {"id": doc.doc_id, "title": doc.title, "body": doc.body}
        yield Record({**meta, "fields": json.loads(doc.fields_json)})


async def restore(scope: TenantScope, records: AsyncIterator[Record]) -> int:
    restored = 0
    async for record in records:
        meta = record.meta
        await scope.search.index(
            meta["id"], title=meta["title"], body=meta["body"], fields=meta["fields"]
        )
        restored += 1
    return restored


async def count(scope: TenantScope) -> int:
    return len([doc async for doc in documents(scope)])


SEARCH = Exportable("search", export, restore, count)

"""Objects in archives: key, media type and content (opened from the tenant's seal, sealed
again as part of the archive file)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tenantry.runtime.blobs import MAX_PAGE
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.lifecycle.archives import Exportable, Record


async def keys(scope: TenantScope) -> AsyncIterator[str]:
    after: str | None = None
    while True:
        page = await scope.objects.list(after=after, limit=MAX_PAGE)
        for key in page.items:
            yield key
        if page.next_cursor is None:
            return
        after = page.next_cursor


async def export(scope: TenantScope) -> AsyncIterator[Record]:
    async for key in keys(scope):
        stored = await scope.objects.get(key)
        yield Record({"key": key, "type": stored.content_type}, stored.data)


async def restore(scope: TenantScope, records: AsyncIterator[Record]) -> int:
    restored = 0
    async for record in records:
        meta = record.meta
        await scope.objects.put(meta["key"], record.blob, content_type=meta["type"])
        restored += 1
    return restored


async def count(scope: TenantScope) -> int:
    return len([key async for key in keys(scope)])


async def remove(scope: TenantScope) -> None:
    """Delete through the store, which gives the quota its room back (a retired space would
    not)."""
    await scope.objects.clear()


OBJECTS = Exportable("objects", export, restore, count, remove)

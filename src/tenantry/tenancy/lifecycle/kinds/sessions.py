"""Sessions in archives: each record as its CBOR, brought back as it was (revision kept)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from tenantry.runtime.blobs import MAX_PAGE
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.sessions import codec
from tenantry.runtime.sessions.schemas import SessionKey
from tenantry.tenancy.lifecycle.archives import Exportable, Record

BATCH: Final = 200  # sessions counted against the quota at once


async def _keys(scope: TenantScope) -> list[SessionKey]:
    found: list[SessionKey] = []
    after: str | None = None
    while True:
        page = await scope.sessions.list_keys(after=after, limit=MAX_PAGE)
        found += page.items
        if page.next_cursor is None:
            return found
        after = page.next_cursor


async def export(scope: TenantScope) -> AsyncIterator[Record]:
    after: str | None = None
    while True:
        page = await scope.sessions.list(after=after, limit=MAX_PAGE)
        for session in page.items:
            yield Record(
                {"team": session.team_id, "session": session.session_id}, codec.encode(session)
            )
        if page.next_cursor is None:
            return
        after = page.next_cursor


async def restore(scope: TenantScope, records: AsyncIterator[Record]) -> int:
    restored, batch = 0, []
    async for record in records:
        batch.append(codec.decode(record.blob))
        if len(batch) >= BATCH:
            restored += await scope.sessions.restore(batch)
            batch = []
    return restored + await scope.sessions.restore(batch)


async def count(scope: TenantScope) -> int:
    return len(await _keys(scope))


async def remove(scope: TenantScope) -> None:
    await scope.sessions.clear()


SESSIONS = Exportable("sessions", export, restore, count, remove)

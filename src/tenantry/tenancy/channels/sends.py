"""The record of replies sent to providers (``egress_sends``): looked up before a send,
written after it, pruned after :data:`KEEP`."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from sqlalchemy import delete, select

from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import Conflict
from tenantry.tenancy.channels.models import EgressSendRow
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated

KEEP: Final = timedelta(days=1)  # longer than any provider's retries and any redelivery


class Sends:
    def __init__(self, sessions: SessionFactory, *, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    async def sent(self, tenant_id: str, env_id: str, message_id: str) -> bool:
        async with translated(), self._sessions() as session:
            found = await session.get(EgressSendRow, (tenant_id, env_id, message_id))
        return found is not None

    async def record(self, tenant_id: str, env_id: str, message_id: str) -> None:
        row = EgressSendRow(
            tenant_id=tenant_id, env_id=env_id, message_id=message_id, sent_at=self._clock()
        )
        try:
            async with translated(), self._sessions() as session, session.begin():
                session.add(row)
        except Conflict:
            return  # recorded already (a concurrent send of the same reply)

    async def prune(self) -> int:
        """Forget sends older than :data:`KEEP`; how many were forgotten."""
        before = self._clock() - KEEP
        async with translated(), self._sessions() as session, session.begin():
            result = await session.execute(
                delete(EgressSendRow).where(EgressSendRow.sent_at < before)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def count(self) -> int:
        async with translated(), self._sessions() as session:
            return len((await session.execute(select(EgressSendRow.message_id))).all())

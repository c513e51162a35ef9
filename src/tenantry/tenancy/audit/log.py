"""The one place audit records are appended.

``append`` writes inside the caller's transaction: a write to the control database and its
record commit together. ``AuditLog.record`` appends in a transaction of its own: for writes to
Redis, objects or files (before the response is sent), and for refusals, whose own transaction
must commit even when the refused change rolls back. Writers only insert; the sequencer chains
(``sequencer.py``). A user id is stored only as its pseudonym (``pseudonyms.py``), under the
key the session factory carries (:func:`carry`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.tenancy.audit.appending import PseudonymKeyMissing, append, carry
from tenantry.tenancy.audit.ports import AuditKeys
from tenantry.tenancy.audit.schemas import AuditEntry
from tenantry.tenancy.audit.sequencer import Cadence
from tenantry.tenancy.audit.service import AuditService
from tenantry.tenancy.audit.splitting import Split
from tenantry.tenancy.registry.errors import translated

__all__ = ["AuditLog", "PseudonymKeyMissing", "append", "carry"]  # append and carry: the log's API


class AuditLog:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        *,
        keys: AuditKeys | None = None,
        cadence: Cadence | None = None,
        split: Split | None = None,
    ) -> None:
        self._sessions, self._clock, self._keys = sessions, clock, keys
        self.service: AuditService | None = None  # list, verify, export, prune
        if keys is not None:
            carry(sessions, keys)
            cadence = cadence or Cadence()
            self.service = AuditService(sessions, keys, clock=clock, cadence=cadence, split=split)

    @property
    def keys(self) -> AuditKeys | None:
        return self._keys

    @property
    def request_key(self) -> bytes:
        """The platform's request-HMAC key (``hmac.request_hmac``) for the API layer."""
        if self._keys is None:
            raise PseudonymKeyMissing("this audit log has no keys", code="audit.keys_missing")
        return self._keys.request_key()

    async def record(self, entries: Sequence[AuditEntry]) -> None:
        """Append ``entries`` in a transaction of their own."""
        async with translated(), self._sessions() as session, session.begin():
            await append(session, entries, now=self._clock())

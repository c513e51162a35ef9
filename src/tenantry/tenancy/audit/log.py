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
from typing import Final

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.core.errors import TenantryError
from tenantry.tenancy.access.models import AuditRecordRow
from tenantry.tenancy.audit.ports import AuditKeys
from tenantry.tenancy.audit.pseudonyms import pseudonymise
from tenantry.tenancy.audit.schemas import AuditEntry
from tenantry.tenancy.audit.sequencer import Cadence
from tenantry.tenancy.audit.service import AuditService
from tenantry.tenancy.registry.errors import translated

CORRELATION_CHARS = 64  # the column's width; the API's correlation ids are at most that
_KEYS: Final = "tenantry.audit.keys"  # where a session's ``info`` carries the audit keys


class PseudonymKeyMissing(TenantryError):
    """A user id to record and no key to pseudonymise it: it is never stored raw."""

    code = "audit.pseudonym_key_missing"


async def append(session: AsyncSession, entries: Sequence[AuditEntry], *, now: datetime) -> None:
    """Append ``entries`` in ``session``'s transaction."""
    if entries:
        keys = session.info.get(_KEYS)
        await session.execute(insert(AuditRecordRow), [_values(e, now, keys) for e in entries])


def carry(sessions: async_sessionmaker[AsyncSession], keys: AuditKeys) -> None:
    """Give every session of ``sessions`` the audit keys, so :func:`append` (whose signature
    is fixed) can pseudonymise user ids."""
    sessions.configure(info={_KEYS: keys})


class AuditLog:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        *,
        keys: AuditKeys | None = None,
        cadence: Cadence | None = None,
    ) -> None:
        self._sessions, self._clock, self._keys = sessions, clock, keys
        self.service: AuditService | None = None  # list, verify, export, prune
        if keys is not None:
            carry(sessions, keys)
            self.service = AuditService(sessions, keys, clock=clock, cadence=cadence or Cadence())

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


def _values(entry: AuditEntry, now: datetime, keys: AuditKeys | None) -> dict[str, object]:
    correlation = entry.correlation_id
    return {
        "ts": now,
        "actor": entry.actor,
        "action": entry.action,
        "tenant_id": entry.tenant_id,
        "outcome": entry.outcome.value,
        "correlation_id": correlation[:CORRELATION_CHARS] if correlation else None,
        "details": dict(entry.details),
        "env_id": entry.env_id,
        "team_id": entry.team_id,
        "credential_id": entry.credential_id,
        "target": entry.target,
        "request_hmac": entry.request_hmac,
        "user_ref": None if entry.user_id is None else user_ref(keys, entry),
    }


def user_ref(keys: AuditKeys | None, entry: AuditEntry) -> str:
    """The pseudonym of the entry's user (never the id itself)."""
    if keys is None or entry.user_id is None:
        raise PseudonymKeyMissing("a user id cannot be recorded without an audit key")
    return pseudonymise(keys, entry.tenant_id, entry.user_id)

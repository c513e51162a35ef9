"""Appending audit records inside a given transaction (:func:`append`), user ids pseudonymised.

Kept apart from :mod:`.log` so that the audit service, which :mod:`.log` builds, can append
its own records (a prune's) in the transaction of the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.core.errors import TenantryError
from tenantry.tenancy.access.models import AuditRecordRow
from tenantry.tenancy.audit.ports import AuditKeys
from tenantry.tenancy.audit.pseudonyms import pseudonymise
from tenantry.tenancy.audit.schemas import AuditEntry

CORRELATION_CHARS = 64  # the column's width; the API's correlation ids are at most that
_NUL_SHOWN: Final = "\ufffd"  # what a NUL character is recorded as
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


def _values(entry: AuditEntry, now: datetime, keys: AuditKeys | None) -> dict[str, object]:
    correlation = entry.correlation_id
    return {
        "ts": now,
        "actor": _storable(entry.actor),
        "action": _storable(entry.action),
        "tenant_id": entry.tenant_id,
        "outcome": entry.outcome.value,
        "correlation_id": _storable(correlation[:CORRELATION_CHARS]) if correlation else None,
        "details": _storable(dict(entry.details)),
        "env_id": entry.env_id,
        "team_id": entry.team_id,
        "credential_id": entry.credential_id,
        "target": None if entry.target is None else _storable(entry.target),
        "request_hmac": entry.request_hmac,
        "user_ref": None if entry.user_id is None else user_ref(keys, entry),
    }


def _storable(value: Any) -> Any:
    """``value`` with every NUL character replaced: a refused request's path may hold one, and
    PostgreSQL's text and JSONB cannot (its record would fail, and the refusal with it)."""
    if isinstance(value, str):
        return value.replace("\x00", _NUL_SHOWN)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


def user_ref(keys: AuditKeys | None, entry: AuditEntry) -> str:
    """The pseudonym of the entry's user (never the id itself)."""
    if keys is None or entry.user_id is None:
        raise PseudonymKeyMissing("a user id cannot be recorded without an audit key")
    return pseudonymise(keys, entry.tenant_id, entry.user_id)

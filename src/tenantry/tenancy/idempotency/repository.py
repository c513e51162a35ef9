"""Idempotency records in the control database: every query, SQLite and PostgreSQL.

No decisions here; each method is one transaction on one record (or the expired ones), and
every write that acts on a claim is conditional on the attempt that holds it, so a request
whose lease was taken over can no longer touch the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from tenantry.tenancy.idempotency.models import IdempotencyRow as Row
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated


@dataclass(frozen=True, slots=True)
class RecordKey:
    tenant_id: str
    env_id: str
    principal: str  # the principal id's digest
    key: str


@dataclass(frozen=True, slots=True)
class Stored:
    """A record as read: a claim in progress (``status`` None) or a finished response."""

    fingerprint: str
    attempt: str
    status: int | None
    response: bytes | None
    lease_until: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Finished:
    """A finished record's sealed response, as a key rotation reads it."""

    record: RecordKey
    fingerprint: str
    attempt: str
    response: bytes


@dataclass(frozen=True, slots=True)
class Attempt:
    """What a claim writes when it starts: its token, the request and its deadlines."""

    attempt: str
    fingerprint: str
    now: datetime
    lease_until: datetime
    expires_at: datetime


_STORED = select(
    Row.fingerprint, Row.attempt, Row.status, Row.response, Row.lease_until, Row.expires_at
)


class SqlIdempotencyRecords:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def claim(self, record: RecordKey, attempt: Attempt) -> tuple[bool, Stored | None]:
        """Insert a claim unless the record exists: ``(True, None)`` when this call inserted
        it, else ``(False, the record)`` read in the same transaction (``(False, None)`` when
        it went away meanwhile)."""
        values = {**_identity(record), **_claimed(attempt), "created_at": attempt.now}
        async with translated(), self._sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT.
            statement = insert(Row).values(**values).on_conflict_do_nothing().returning(Row.attempt)
            if (await session.execute(statement)).first() is not None:
                return True, None
            # The conflicting row is committed (ON CONFLICT waits for its writer), or gone.
            row = (await session.execute(_STORED.where(_is(record)))).first()
        return False, None if row is None else Stored(*row)

    async def take_over(self, record: RecordKey, *, previous: str, attempt: Attempt) -> bool:
        """Replace the record held by attempt ``previous`` (expired, or a lapsed claim) with a
        new claim; False when another request changed it first."""
        values = {**_claimed(attempt), "created_at": attempt.now}
        statement = update(Row).where(_is(record), Row.attempt == previous).values(**values)
        async with translated(), self._sessions() as session, session.begin():
            return _count(await session.execute(statement)) == 1

    async def finish(
        self, record: RecordKey, *, attempt: str, status: int, response: bytes, expires_at: datetime
    ) -> bool:
        statement = (
            update(Row)
            .where(_is(record), Row.attempt == attempt, Row.status.is_(None))
            .values(status=status, response=response, expires_at=expires_at)
        )
        async with translated(), self._sessions() as session, session.begin():
            return _count(await session.execute(statement)) == 1

    async def release(self, record: RecordKey, *, attempt: str) -> bool:
        statement = delete(Row).where(_is(record), Row.attempt == attempt, Row.status.is_(None))
        async with translated(), self._sessions() as session, session.begin():
            return _count(await session.execute(statement)) == 1

    async def finished(
        self, tenant: str, env: str, *, now: datetime, after: RecordKey | None, limit: int
    ) -> list[Finished]:
        """Up to ``limit`` unexpired finished records of a tenant environment, in key order,
        after ``after``."""
        query = select(
            Row.principal, Row.idempotency_key, Row.fingerprint, Row.attempt, Row.response
        )
        query = query.where(
            Row.tenant_id == tenant,
            Row.env_id == env,
            Row.response.is_not(None),
            Row.expires_at > now,
        )
        if after is not None:
            query = query.where(
                tuple_(Row.principal, Row.idempotency_key) > (after.principal, after.key)
            )
        query = query.order_by(Row.principal, Row.idempotency_key).limit(limit)
        async with translated(), self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            Finished(
                RecordKey(tenant, env, row.principal, row.idempotency_key),
                row.fingerprint,
                row.attempt,
                row.response or b"",
            )
            for row in rows
        ]

    async def replace_response(self, found: Finished, response: bytes) -> bool:
        """Store ``response`` over the one ``found`` read, unless the record changed since."""
        statement = (
            update(Row)
            .where(_is(found.record), Row.attempt == found.attempt, Row.response == found.response)
            .values(response=response)
        )
        async with translated(), self._sessions() as session, session.begin():
            return _count(await session.execute(statement)) == 1

    async def purge(self, *, now: datetime) -> int:
        """Remove every expired record (finished or not: a claim expires with its record)."""
        statement = delete(Row).where(Row.expires_at <= now)
        async with translated(), self._sessions() as session, session.begin():
            return _count(await session.execute(statement))


def _identity(record: RecordKey) -> dict[str, str]:
    return {
        "tenant_id": record.tenant_id,
        "env_id": record.env_id,
        "principal": record.principal,
        "idempotency_key": record.key,
    }


def _claimed(attempt: Attempt) -> dict[str, Any]:
    return {
        "fingerprint": attempt.fingerprint,
        "attempt": attempt.attempt,
        "status": None,
        "response": None,
        "lease_until": attempt.lease_until,
        "expires_at": attempt.expires_at,
    }


def _is(record: RecordKey) -> ColumnElement[bool]:
    return (
        (Row.tenant_id == record.tenant_id)
        & (Row.env_id == record.env_id)
        & (Row.principal == record.principal)
        & (Row.idempotency_key == record.key)
    )


def _count(result: Any) -> int:
    return int(result.rowcount)

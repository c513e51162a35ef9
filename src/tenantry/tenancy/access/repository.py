"""Every access query: tenant standing for issuance, API key rows, issued and revoked tokens,
audit records.

No decisions here. Changes and their audit records are written in one transaction, so a key
never exists (or stops existing) without the record that says who did it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.access.models import (
    ApiKeyRow,
    AuditRecordRow,
    IssuedTokenRow,
    RevocationCounterRow,
    TokenRevocationRow,
)
from tenantry.tenancy.access.schemas import ApiKeyInfo, AuditRecord, Role
from tenantry.tenancy.audit import log as audit_log
from tenantry.tenancy.audit.schemas import AuditEntry
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.registry.models import TeamRow, TenantRow


class Standing(NamedTuple):
    """What issuance needs to know about a tenant (and, when asked, one of its teams)."""

    lifecycle_state: str
    team_found: bool


class StoredKey(NamedTuple):
    info: ApiKeyInfo
    secret_digest: str


class Revocation(NamedTuple):
    seq: int
    jti: str
    expires_at: datetime


class AccessRepository:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def standing(self, tenant: str, team: str | None) -> Standing | None:
        query = select(TenantRow.lifecycle_state).where(TenantRow.id == tenant)
        async with translated(), self._sessions() as session:
            row = (await session.execute(query)).one_or_none()
            if row is None:
                return None
            found = team is None or await _team_exists(session, tenant, team)
        return Standing(row.lifecycle_state, found)

    async def add_key(self, key: ApiKeyInfo, secret_digest: str, entry: AuditEntry) -> None:
        values = {**_key_values(key), "secret_digest": secret_digest}
        async with translated(), self._sessions() as session, session.begin():
            await session.execute(insert(ApiKeyRow).values(values))
            await audit_log.append(session, [entry], now=key.created_at)

    async def find_key(self, key_id: str) -> StoredKey | None:
        """The key with this id, in any tenant: authentication finds the tenant from it."""
        query = select(ApiKeyRow).where(ApiKeyRow.id == key_id)
        async with translated(), self._sessions() as session:
            row = await session.scalar(query)
        return None if row is None else StoredKey(_key_info(row), row.secret_digest)

    async def list_keys(self, tenant: str, *, include_revoked: bool) -> list[ApiKeyInfo]:
        query = select(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        query = query.order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        async with translated(), self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [_key_info(row) for row in rows]

    async def revoke_key(
        self, tenant: str, key_id: str, entry: AuditEntry, *, now: datetime
    ) -> bool:
        """Revoke the tenant's key; False when the tenant has no such key. Idempotent."""
        mine = (ApiKeyRow.tenant_id == tenant, ApiKeyRow.id == key_id)
        query = select(ApiKeyRow.revoked_at).where(*mine).with_for_update()
        async with translated(), self._sessions() as session, session.begin():
            row = (await session.execute(query)).one_or_none()
            if row is None:
                return False
            if row.revoked_at is None:
                await session.execute(update(ApiKeyRow).where(*mine).values(revoked_at=now))
                await audit_log.append(session, [entry], now=now)
        return True

    async def add_token(
        self,
        jti: str,
        tenants: Sequence[str | None],
        expires_at: datetime,
        entries: Sequence[AuditEntry],
        *,
        now: datetime,
        forget_before: datetime,
    ) -> None:
        """Record an issued token's tenants (until it expires) with its audit records."""
        rows = [{"jti": jti, "tenant_id": t, "expires_at": expires_at} for t in tenants]
        async with translated(), self._sessions() as session, session.begin():
            await session.execute(insert(IssuedTokenRow), rows)
            await audit_log.append(session, entries, now=now)
            await _forget(session, forget_before)

    async def revoke_token(
        self,
        jti: str,
        tenant: str | None,
        entries: Callable[[list[str | None]], Sequence[AuditEntry]],
        *,
        actor: str,
        now: datetime,
        forget_before: datetime,
    ) -> datetime | None:
        """Revoke the token (confined to those granting ``tenant`` unless None) and record
        ``entries(its tenants)``; the token's expiry, or None when there is no such token.
        Revoking again changes nothing. Rows of tokens expired before ``forget_before`` go."""
        query = select(IssuedTokenRow.tenant_id, IssuedTokenRow.expires_at).where(
            IssuedTokenRow.jti == jti
        )
        async with translated(), self._sessions() as session, session.begin():
            seq = await _next_revocation(session)  # first: the lock that orders revocations
            found = (await session.execute(query)).all()
            if not found or (tenant is not None and tenant not in {r.tenant_id for r in found}):
                return None
            expires: datetime = max(row.expires_at for row in found)
            done = select(TokenRevocationRow.seq).where(TokenRevocationRow.jti == jti)
            if await session.scalar(done) is None:
                values = _revocation(seq, jti, expires, now, actor)
                await session.execute(insert(TokenRevocationRow).values(values))
                audited = entries([r.tenant_id for r in found])
                await audit_log.append(session, audited, now=now)
            await _forget(session, forget_before)
        return expires

    async def revocations_after(self, seq: int) -> list[Revocation]:
        """Revocations numbered after ``seq``, in order (one indexed range read)."""
        query = (
            select(TokenRevocationRow.seq, TokenRevocationRow.jti, TokenRevocationRow.expires_at)
            .where(TokenRevocationRow.seq > seq)
            .order_by(TokenRevocationRow.seq)
        )
        async with translated(), self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [Revocation(row.seq, row.jti, row.expires_at) for row in rows]

    async def record(self, entries: Sequence[AuditEntry], *, now: datetime) -> None:
        async with translated(), self._sessions() as session, session.begin():
            await audit_log.append(session, entries, now=now)

    async def records(self, *, tenant: str | None, limit: int) -> list[AuditRecord]:
        """The newest records first, of one tenant or of all."""
        query = select(AuditRecordRow).order_by(AuditRecordRow.id.desc()).limit(limit)
        if tenant is not None:
            query = query.where(AuditRecordRow.tenant_id == tenant)
        async with translated(), self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [_record(row) for row in rows]


async def _team_exists(session: AsyncSession, tenant: str, team: str) -> bool:
    query = select(TeamRow.id).where(TeamRow.tenant_id == tenant, TeamRow.id == team)
    return await session.scalar(query) is not None


async def _next_revocation(session: AsyncSession) -> int:
    """The next revocation number; the counter row stays locked until the transaction ends."""
    bump = (
        update(RevocationCounterRow)
        .where(RevocationCounterRow.id == 1)
        .values(value=RevocationCounterRow.value + 1)
        .returning(RevocationCounterRow.value)
    )
    return int((await session.execute(bump)).scalar_one())


async def _forget(session: AsyncSession, before: datetime) -> None:
    """Drop what only mattered while tokens now expired could still be presented."""
    await session.execute(delete(TokenRevocationRow).where(TokenRevocationRow.expires_at < before))
    await session.execute(delete(IssuedTokenRow).where(IssuedTokenRow.expires_at < before))


def _revocation(
    seq: int, jti: str, expires: datetime, now: datetime, actor: str
) -> dict[str, object]:
    return {"seq": seq, "jti": jti, "expires_at": expires, "revoked_at": now, "revoked_by": actor}


def _key_values(key: ApiKeyInfo) -> dict[str, object]:
    return {
        "id": key.id,
        "tenant_id": key.tenant,
        "team_id": key.team,
        "role": key.role.value,
        "name": key.name,
        "created_by": key.created_by,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


def _key_info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        tenant=row.tenant_id,
        team=row.team_id,
        role=Role(row.role),
        name=row.name,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
    )


def _record(row: AuditRecordRow) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        ts=row.ts,
        actor=row.actor,
        action=row.action,
        tenant=row.tenant_id,
        outcome=row.outcome,
        correlation_id=row.correlation_id,
        details=row.details,
    )

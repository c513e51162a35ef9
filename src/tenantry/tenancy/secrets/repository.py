"""Sealed secret versions in the control database: every secret query, SQLite and PostgreSQL.

No domain decisions here; each method is one transaction and filters on the owner (a tenant id,
or None for ``global/``) as well as on the path. Values arrive sealed and leave sealed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Delete, delete, func, insert, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core import ids, names
from tenantry.runtime.secrets.errors import SecretOwnerNotFound
from tenantry.runtime.secrets.ports import SealVersion
from tenantry.runtime.secrets.schemas import (
    Removed,
    Rewrapped,
    Sealed,
    SecretAddress,
    StoredVersion,
    VersionInfo,
)
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.registry.models import SecretVersionRow as Row

_META = (
    Row.path,
    Row.name,
    Row.team_id,
    Row.version,
    Row.kid,
    Row.size,
    Row.created_at,
    Row.updated_at,
)


class SqlSecretRecords:
    """:class:`~tenantry.runtime.secrets.ports.SecretRecords` on the control database."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def append(
        self, address: SecretAddress, seal: SealVersion, *, size: int, now: datetime
    ) -> VersionInfo:
        async with translated():
            try:
                async with self._sessions() as session, session.begin():
                    await _lock_path(session, address.path)
                    newest = await session.scalar(
                        select(func.max(Row.version)).where(
                            _owned(address.tenant), Row.path == address.path
                        )
                    )
                    version = (newest or 0) + 1
                    sealed = seal(version)
                    await session.execute(
                        insert(Row).values(_row(address, version, sealed, size=size, now=now))
                    )
            except IntegrityError as error:
                # Appends to one path are serialised, so this is the tenant's foreign key.
                raise SecretOwnerNotFound(
                    f"tenant {address.tenant!r} is not registered; it has no secrets"
                ) from error
        return VersionInfo(
            address.path, address.name, address.team, version, sealed.kid, size, now, now
        )

    async def read(self, owner: str | None, path: str, version: int | None) -> StoredVersion | None:
        query = select(*_META, Row.sealed).where(_owned(owner), Row.path == path)
        if version is None:
            query = query.order_by(Row.version.desc()).limit(1)
        else:
            query = query.where(Row.version == version)
        async with translated(), self._sessions() as session:
            row = (await session.execute(query)).first()
        return None if row is None else StoredVersion(_info(row), row.sealed)

    async def exists(self, owner: str | None, path: str) -> bool:
        query = select(Row.version).where(_owned(owner), Row.path == path).limit(1)
        async with translated(), self._sessions() as session:
            return await session.scalar(query) is not None

    async def versions(
        self, owner: str | None, *, team: str | None, path: str | None = None
    ) -> list[VersionInfo]:
        scope = Row.team_id.is_(None) if team is None else Row.team_id == team
        query = select(*_META).where(_owned(owner), scope).order_by(Row.path, Row.version)
        if path is not None:
            query = query.where(Row.path == path)
        async with translated(), self._sessions() as session:
            return [_info(row) for row in await session.execute(query)]

    async def delete(self, owner: str | None, path: str) -> Removed:
        statement = delete(Row).where(_owned(owner), Row.path == path)
        async with translated(), self._sessions() as session, session.begin():
            return await _removed(session, statement)

    async def prune(self, owner: str | None, path: str, *, keep: int) -> Removed:
        kept = (
            select(Row.version)
            .where(_owned(owner), Row.path == path)
            .order_by(Row.version.desc())
            .offset(keep - 1)
            .limit(1)
        )
        async with translated(), self._sessions() as session, session.begin():
            await _lock_path(session, path)
            oldest_kept = await session.scalar(kept)
            if oldest_kept is None:
                return Removed()
            statement = delete(Row).where(
                _owned(owner), Row.path == path, Row.version < oldest_kept
            )
            return await _removed(session, statement)

    async def stale(self, owner: str | None, *, kid: str) -> list[tuple[str, int]]:
        query = (
            select(Row.path, Row.version)
            .where(_owned(owner), Row.kid != kid)
            .order_by(Row.path, Row.version)
        )
        async with translated(), self._sessions() as session:
            return [(row.path, row.version) for row in await session.execute(query)]

    async def sealed(
        self, owner: str | None, keys: Sequence[tuple[str, int]]
    ) -> list[StoredVersion]:
        if not keys:
            return []
        query = (
            select(*_META, Row.sealed)
            .where(_owned(owner), tuple_(Row.path, Row.version).in_(list(keys)))
            .order_by(Row.path, Row.version)
        )
        async with translated(), self._sessions() as session:
            return [StoredVersion(_info(row), row.sealed) for row in await session.execute(query)]

    async def replace_wraps(
        self, owner: str | None, changes: Sequence[Rewrapped], *, now: datetime
    ) -> int:
        stored = 0
        async with translated(), self._sessions() as session, session.begin():
            for change in changes:
                statement = (
                    update(Row)
                    .where(
                        _owned(owner),
                        Row.path == change.path,
                        Row.version == change.version,
                        Row.kid == change.old_kid,
                    )
                    .values(sealed=change.sealed.data, kid=change.sealed.kid, updated_at=now)
                )
                stored += _count(await session.execute(statement))
        return stored

    async def key_usage(self, owner: str | None) -> dict[str, int]:
        query = select(Row.kid, func.count()).where(_owned(owner)).group_by(Row.kid)
        async with translated(), self._sessions() as session:
            return {kid: int(used) for kid, used in await session.execute(query)}

    async def everything(self, owner: str | None) -> list[StoredVersion]:
        query = select(*_META, Row.sealed).where(_owned(owner)).order_by(Row.path, Row.version)
        async with translated(), self._sessions() as session:
            return [StoredVersion(_info(row), row.sealed) for row in await session.execute(query)]

    async def restore(self, owner: str | None, versions: Sequence[StoredVersion]) -> int:
        rows = [_restored(owner, stored) for stored in versions]
        if rows:
            async with translated(), self._sessions() as session, session.begin():
                await session.execute(insert(Row), rows)
        return len(rows)


def _restored(owner: str | None, stored: StoredVersion) -> dict[str, Any]:
    info = stored.info
    if names.parse_secret_path(info.path)[0] != owner:  # never another owner's path
        raise ValueError(f"secret path {info.path!r} is not {owner!r}'s")
    return {
        "path": info.path,
        "version": info.version,
        "tenant_id": owner,
        "team_id": info.team,
        "name": info.name,
        "kid": info.kid,
        "size": info.size,
        "sealed": stored.sealed,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
    }


def _owned(owner: str | None) -> ColumnElement[bool]:
    return Row.tenant_id.is_(None) if owner is None else Row.tenant_id == owner


async def _lock_path(session: AsyncSession, path: str) -> None:
    """Serialise writers of one secret path, so version numbers are never given twice."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(path)})
    else:
        # A write, even of no row, takes SQLite's write lock before the newest version is read.
        await session.execute(text("UPDATE secret_versions SET version = version WHERE 0 = 1"))


def _lock_key(path: str) -> int:
    digest = hashlib.blake2b(b"tenantry/secret\x00" + path.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _row(
    address: SecretAddress, version: int, sealed: Sealed, *, size: int, now: datetime
) -> dict[str, Any]:
    return {
        "path": address.path,
        "version": version,
        "tenant_id": address.tenant,
        "team_id": address.team,
        "name": address.name,
        "kid": sealed.kid,
        "size": size,
        "sealed": sealed.data,
        "created_at": now,
        "updated_at": now,
    }


def _info(row: Any) -> VersionInfo:
    return VersionInfo(
        path=row.path,
        name=ids.SecretName(row.name),
        team=None if row.team_id is None else ids.TeamId(row.team_id),
        version=row.version,
        kid=row.kid,
        size=row.size,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _count(result: Any) -> int:
    return int(result.rowcount)


async def _removed(session: AsyncSession, statement: Delete) -> Removed:
    """Run a delete of versions; how many it removed and their sealed bytes."""
    sizes = (await session.scalars(statement.returning(func.length(Row.sealed)))).all()
    return Removed(len(sizes), sum(int(size) for size in sizes))

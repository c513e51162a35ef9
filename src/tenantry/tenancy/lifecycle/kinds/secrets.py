"""Secrets in archives: every version sealed as stored in the control database (they stay
there too: the archive keeps a copy, the tenant's key opens both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from tenantry.core import ids
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.secrets.schemas import StoredVersion, VersionInfo
from tenantry.tenancy.lifecycle.archives import Exportable, Record


async def export(scope: TenantScope) -> AsyncIterator[Record]:
    for stored in await scope.secrets.export():
        info = stored.info
        meta = {
            "path": info.path,
            "name": info.name,
            "team": info.team,
            "version": info.version,
            "kid": info.kid,
            "size": info.size,
            "created_at": info.created_at.isoformat(),
            "updated_at": info.updated_at.isoformat(),
        }
        yield Record(meta, stored.sealed)


def _version(record: Record) -> StoredVersion:
    meta = record.meta
    info = VersionInfo(
        path=meta["path"],
        name=ids.secret_name(meta["name"]),
        team=None if meta["team"] is None else ids.team_id(meta["team"]),
        version=int(meta["version"]),
        kid=meta["kid"],
        size=int(meta["size"]),
        created_at=datetime.fromisoformat(meta["created_at"]),
        updated_at=datetime.fromisoformat(meta["updated_at"]),
    )
    return StoredVersion(info, record.blob)


async def restore(scope: TenantScope, records: AsyncIterator[Record]) -> int:
    versions = [_version(record) async for record in records]
    await scope.secrets.restore(versions)
    return len(versions)


async def count(scope: TenantScope) -> int:
    return len(await scope.secrets.export())


SECRETS = Exportable("secrets", export, restore, count, tenant_wide=True)

"""The records a listing shows, newest first, with their place in the chain (if linked)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.access.models import AuditRecordRow
from tenantry.tenancy.audit import canonical
from tenantry.tenancy.audit.models import AuditChainRow
from tenantry.tenancy.audit.repository import RECORD_COLUMNS
from tenantry.tenancy.audit.schemas import AuditItem

if TYPE_CHECKING:
    from tenantry.tenancy.audit.service import Query

_R, _C = AuditRecordRow, AuditChainRow


async def records(session: AsyncSession, query: Query) -> list[AuditItem]:
    statement = select(*RECORD_COLUMNS, _C.chain, _C.seq).outerjoin(_C, _C.record_id == _R.id)
    for condition in _conditions(query):
        statement = statement.where(condition)
    statement = statement.order_by(_R.id.desc()).limit(query.limit)
    return [_item(row) for row in (await session.execute(statement)).all()]


def _conditions(query: Query) -> list[Any]:
    found: list[Any] = []
    if query.chain is not None:
        found.append(
            _R.tenant_id.is_(None)
            if query.chain == canonical.PLATFORM_CHAIN
            else _R.tenant_id == query.chain
        )
    if query.since is not None:
        found.append(_R.ts >= query.since)
    if query.action is not None:
        found.append(_R.action == query.action)
    if query.before_id is not None:
        found.append(_R.id < query.before_id)
    return found


def _item(row: Any) -> AuditItem:
    values = dict(zip(canonical.FIELDS, row[: len(canonical.FIELDS)], strict=True))
    values.pop("request_hmac")
    values["user"] = values.pop("user_ref")
    return AuditItem(**values, chain=row[-2], seq=row[-1])

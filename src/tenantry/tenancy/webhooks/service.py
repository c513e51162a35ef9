"""Managing webhook endpoints: add, list, remove, rotate a secret, read the delivery log and
replay deliveries. Every method acts for one :class:`Owner` (a tenant's admins, or the
platform's) and finds only that owner's endpoints; each write is audited in its transaction.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core.clock import Clock, utc_now
from tenantry.core.logging import current_correlation
from tenantry.tenancy.audit.log import append
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.webhooks import filters as filtering
from tenantry.tenancy.webhooks import repository as repo
from tenantry.tenancy.webhooks import urls
from tenantry.tenancy.webhooks.errors import (
    BadReplay,
    DeliveryNotFound,
    EndpointNotFound,
    EventExpired,
    TooManyEndpoints,
)
from tenantry.tenancy.webhooks.models import DeliveryRow, EndpointRow
from tenantry.tenancy.webhooks.schemas import (
    Added,
    Delivery,
    Endpoint,
    Owner,
    Rotated,
    Status,
)
from tenantry.tenancy.webhooks.sealing import SecretSealer
from tenantry.tenancy.webhooks.signing import new_secret

MAX_ENDPOINTS: Final = 20  # per tenant: nothing a caller sends grows a table without bound
MAX_PLATFORM_ENDPOINTS: Final = 200
MAX_DESCRIPTION: Final = 256
MAX_REPLAY: Final = 1000  # deliveries one replay may create


class Webhooks:
    def __init__(
        self,
        sessions: SessionFactory,
        sealer: SecretSealer,
        *,
        allowed: urls.Allowed,
        overlap: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions, self._sealer, self._allowed = sessions, sealer, allowed
        self._overlap, self._clock = overlap, clock

    async def add(
        self, owner: Owner, *, url: str, filters: Sequence[str], description: str = ""
    ) -> Added:
        """A new endpoint and its first signing secret (returned once, sealed at rest)."""
        checked_url = urls.checked(url, allowed=self._allowed)
        checked_filters = filtering.checked(filters)
        endpoint_id, secret, now = uuid.uuid4().hex, new_secret(), self._clock()
        sealed = self._sealer.seal(owner.tenant_id, endpoint_id, 1, secret)
        row = EndpointRow(
            id=endpoint_id,
            tenant_id=owner.tenant_id,
            url=checked_url,
            filters=checked_filters,
            description=description[:MAX_DESCRIPTION],
            created_by=owner.actor,
            created_at=now,
        )
        async with translated(), self._sessions() as session, session.begin():
            await _room_for_one(session, owner)
            session.add(row)
            await session.flush()
            await repo.add_secret(session, endpoint_id, 1, sealed, now=now)
            await append(session, [_audit(owner, "webhook.add", endpoint_id)], now=now)
        return Added(repo.to_endpoint(row, 1), secret)

    async def list(self, owner: Owner) -> list[Endpoint]:
        async with translated(), self._sessions() as session:
            return await repo.endpoints(session, owner.tenant_id)

    async def remove(self, owner: Owner, endpoint_id: str) -> None:
        """Remove the endpoint, its secrets and its delivery log."""
        now = self._clock()
        async with translated(), self._sessions() as session, session.begin():
            row = await _found(session, owner, endpoint_id)
            await session.execute(delete(DeliveryRow).where(DeliveryRow.endpoint_id == row.id))
            await session.delete(row)
            await append(session, [_audit(owner, "webhook.remove", endpoint_id)], now=now)

    async def rotate(self, owner: Owner, endpoint_id: str) -> Rotated:
        """A new signing secret; the previous one still signs for the overlap, then expires."""
        now, secret = self._clock(), new_secret()
        expires = now + self._overlap
        async with translated(), self._sessions() as session, session.begin():
            row = await _found(session, owner, endpoint_id, lock=True)
            known = await repo.secrets(session, row.id)
            version = (known[0].version if known else 0) + 1
            sealed = self._sealer.seal(owner.tenant_id, row.id, version, secret)
            await repo.expire_secrets(session, row.id, below=version, at=expires, now=now)
            await repo.add_secret(session, row.id, version, sealed, now=now)
            await append(session, [_audit(owner, "webhook.rotate", endpoint_id)], now=now)
        return Rotated(secret, version, expires if known else None)

    async def deliveries(
        self, owner: Owner, endpoint_id: str, *, status: Status | None = None, limit: int = 100
    ) -> builtins.list[Delivery]:
        """The endpoint's delivery log, the newest first."""
        async with translated(), self._sessions() as session:
            row = await _found(session, owner, endpoint_id)
            return await repo.deliveries(session, row.id, status=status, limit=limit)

    async def replay(
        self,
        owner: Owner,
        endpoint_id: str,
        *,
        delivery_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> builtins.list[Delivery]:
        """New deliveries of one delivery's event, or of every event delivered in a range;
        each is signed again, with a fresh timestamp, when it is sent."""
        _check_replay(delivery_id, since, until)
        now = self._clock()
        async with translated(), self._sessions() as session, session.begin():
            row = await _found(session, owner, endpoint_id)
            found = await repo.originals(
                session, row.id, delivery_id=delivery_id, since=since, until=until, limit=MAX_REPLAY
            )
            if delivery_id is not None and not found:
                await _expired_or_missing(session, row.id, delivery_id)
            copies = [_replay_of(original, now) for original in found]
            await repo.insert_deliveries(session, copies)
            details = {"deliveries": len(copies)}
            await append(session, [_audit(owner, "webhook.replay", endpoint_id, details)], now=now)
        return [repo.to_delivery(DeliveryRow(**values)) for values in copies]


async def _expired_or_missing(session: AsyncSession, endpoint_id: str, delivery_id: str) -> None:
    """Raise why a delivery cannot be replayed: its event is past retention, or it is not one of
    this endpoint's."""
    query = select(DeliveryRow.id).where(
        DeliveryRow.endpoint_id == endpoint_id, DeliveryRow.id == delivery_id
    )
    if await session.scalar(query) is not None:
        raise EventExpired(
            f"delivery {delivery_id!r}'s event is past the outbox's retention and cannot be sent"
        )
    raise DeliveryNotFound(f"no delivery {delivery_id!r} of this endpoint")


async def _found(
    session: AsyncSession, owner: Owner, endpoint_id: str, *, lock: bool = False
) -> EndpointRow:
    query = select(EndpointRow).where(repo.owned(owner.tenant_id), EndpointRow.id == endpoint_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise EndpointNotFound("no such webhook endpoint")
    return row


async def _room_for_one(session: AsyncSession, owner: Owner) -> None:
    query = select(func.count()).select_from(EndpointRow).where(repo.owned(owner.tenant_id))
    most = MAX_PLATFORM_ENDPOINTS if owner.tenant_id is None else MAX_ENDPOINTS
    if (await session.scalar(query) or 0) >= most:
        raise TooManyEndpoints(f"{owner.label} has {most} webhook endpoints, the most allowed")


def _check_replay(delivery_id: str | None, since: datetime | None, until: datetime | None) -> None:
    if delivery_id is None and since is None:
        raise BadReplay("replay one delivery (delivery_id) or a range (since, until)")
    if delivery_id is not None and (since is not None or until is not None):
        raise BadReplay("replay one delivery or a range, not both")
    if since is not None and until is not None and until <= since:
        raise BadReplay("the range's until is not after its since")


def _replay_of(original: DeliveryRow, now: datetime) -> dict[str, object]:
    return {
        "id": uuid.uuid4().hex,
        "endpoint_id": original.endpoint_id,
        "outbox_id": original.outbox_id,
        "event_id": original.event_id,
        "event_type": original.event_type,
        "tenant_id": original.tenant_id,
        "tenant_seq": original.tenant_seq,
        "status": Status.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "replay_of": original.id,
        "created_at": now,
    }


def _audit(
    owner: Owner, action: str, target: str, details: Mapping[str, object] | None = None
) -> AuditEntry:
    return AuditEntry(
        actor=owner.actor,
        action=action,
        tenant_id=owner.tenant_id,
        outcome=Outcome.SUCCEEDED,
        target=f"webhook:{target}",
        details=details or {},
        correlation_id=current_correlation(),  # the request's, matching its response
    )

"""The dispatcher's side of the delivery table: claim due deliveries, load what signs and
what is sent, record each attempt's outcome.

A claim moves the delivery's ``next_attempt_at`` past a lease and counts the attempt, then
commits: no transaction is open while a request is in flight, and a worker that dies mid-send
leaves the delivery due again once the lease passes. On PostgreSQL concurrent workers claim
with ``FOR UPDATE SKIP LOCKED``, so each delivery goes to one of them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core.clock import Clock, utc_now
from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.webhooks import backoff
from tenantry.tenancy.webhooks.attempts import Result, Verdict
from tenantry.tenancy.webhooks.models import DeliveryRow, EndpointRow, SecretRow
from tenantry.tenancy.webhooks.schemas import Status
from tenantry.tenancy.webhooks.sealing import SecretSealer

EXPIRED: Final = "the event is no longer in the outbox (past its retention)"


@dataclass(frozen=True, slots=True)
class Claimed:
    """One delivery to attempt now, with what its request needs."""

    id: str
    endpoint_id: str
    url: str
    event_id: str
    tenant_id: str
    tenant_seq: int
    attempt: int
    body: str
    signing: tuple[str, ...]  # the secrets that sign now, the newest first


class Sending:
    def __init__(
        self,
        sessions: SessionFactory,
        sealer: SecretSealer,
        *,
        max_attempts: int,
        lease: timedelta,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions, self._sealer, self._max = sessions, sealer, max_attempts
        self._lease, self._clock = lease, clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret

    async def claim(
        self, *, limit: int, room: Mapping[str, int], per_endpoint: int
    ) -> list[Claimed]:
        """Up to ``limit`` due deliveries, at most ``per_endpoint`` (less what is in flight,
        ``room`` naming endpoints with less than that room) per endpoint."""
        now = self._clock()
        full = [endpoint for endpoint, left in room.items() if left <= 0]
        async with translated(), self._sessions() as session, session.begin():
            rows = await _due(session, now, full, limit * 4)
            chosen = _spread(rows, limit, room, per_endpoint)
            if not chosen:
                return []
            bodies = await _bodies(session, {row.outbox_id for row, _ in chosen})
            chosen = await _retained(session, chosen, bodies, now)
            ids = [row.id for row, _ in chosen]
            await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids))
                .values(next_attempt_at=now + self._lease, attempts=DeliveryRow.attempts + 1)
            )
            signing = await self._signing(session, {e.id: e.tenant_id for _, e in chosen}, now)
        return [
            Claimed(
                row.id,
                endpoint.id,
                endpoint.url,
                row.event_id,
                row.tenant_id,
                row.tenant_seq,
                row.attempts + 1,
                bodies.get(row.outbox_id, "{}"),
                signing.get(endpoint.id, ()),
            )
            for row, endpoint in chosen
        ]

    def now(self) -> datetime:
        return self._clock()

    async def prune(self, *, older_than: timedelta) -> int:
        """Delete finished deliveries (succeeded, failed, cancelled) created before
        ``older_than`` ago; pending ones stay until they end. How many were deleted."""
        before = self._clock() - older_than
        async with translated(), self._sessions() as session, session.begin():
            done: Any = await session.execute(
                delete(DeliveryRow).where(
                    DeliveryRow.status != Status.PENDING.value, DeliveryRow.created_at < before
                )
            )
        return int(done.rowcount)

    async def record(self, outcomes: Sequence[tuple[Claimed, Result]]) -> list[Verdict]:
        """Write the attempts' outcomes in one transaction and one statement (a round trip
        per row would cost a turn of the busy event loop each); a ``410`` disables its
        endpoint and cancels the endpoint's pending deliveries."""
        now = self._clock()
        verdicts = [result.verdict for _, result in outcomes]
        rows = [
            self._outcome(claimed, result, verdict, now)
            for (claimed, result), verdict in zip(outcomes, verdicts, strict=True)
        ]
        gone = {
            c.endpoint_id for (c, _), v in zip(outcomes, verdicts, strict=True) if v is Verdict.GONE
        }
        async with translated(), self._sessions() as session, session.begin():
            await session.execute(update(DeliveryRow), rows)
            for endpoint_id in gone:
                await _disable(session, endpoint_id, now)
        return verdicts

    def _outcome(
        self, claimed: Claimed, result: Result, verdict: Verdict, now: datetime
    ) -> dict[str, Any]:
        """The delivery's row after the attempt (every column the update sets, each time)."""
        values: dict[str, Any] = {
            "id": claimed.id,
            "status": Status.PENDING.value,
            "next_attempt_at": None,
            "delivered_at": None,
            "last_status_code": result.status_code,
            "latency_ms": result.latency_ms,
            "last_error": result.summary,
        }
        if verdict is Verdict.DELIVERED:
            values |= {"status": Status.SUCCEEDED.value, "delivered_at": now}
        elif verdict is Verdict.GONE or claimed.attempt >= self._max:
            values["status"] = Status.FAILED.value
        else:
            values["next_attempt_at"] = now + backoff.delay(claimed.attempt, rng=self._rng)
        return values

    async def _signing(
        self, session: AsyncSession, owners: Mapping[str, str | None], now: datetime
    ) -> dict[str, tuple[str, ...]]:
        query = (
            select(SecretRow)
            .where(SecretRow.endpoint_id.in_(list(owners)))
            .where(SecretRow.expires_at.is_(None) | (SecretRow.expires_at > now))
            .order_by(SecretRow.endpoint_id, SecretRow.version.desc())
        )
        found: dict[str, list[str]] = {}
        for secret in (await session.execute(query)).scalars():
            owner = owners[secret.endpoint_id]
            opened = self._sealer.open(owner, secret.endpoint_id, secret.version, secret.sealed)
            found.setdefault(secret.endpoint_id, []).append(opened)
        return {endpoint: tuple(values) for endpoint, values in found.items()}


async def _due(
    session: AsyncSession, now: datetime, full: Collection[str], window: int
) -> list[tuple[DeliveryRow, EndpointRow]]:
    query = (
        select(DeliveryRow, EndpointRow)
        .join(EndpointRow, EndpointRow.id == DeliveryRow.endpoint_id)
        .where(
            DeliveryRow.status == Status.PENDING.value,
            DeliveryRow.next_attempt_at <= now,
            EndpointRow.disabled_at.is_(None),
        )
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.outbox_id)
        .limit(window)
        .with_for_update(skip_locked=True, of=DeliveryRow)
    )
    if full:
        query = query.where(DeliveryRow.endpoint_id.not_in(list(full)))
    return [(row, endpoint) for row, endpoint in (await session.execute(query)).all()]


def _spread(
    rows: list[tuple[DeliveryRow, EndpointRow]],
    limit: int,
    room: Mapping[str, int],
    per_endpoint: int,
) -> list[tuple[DeliveryRow, EndpointRow]]:
    """At most ``limit`` rows, and per endpoint no more than its room: one endpoint's backlog
    never takes the slots of the others."""
    taken: dict[str, int] = {}
    chosen: list[tuple[DeliveryRow, EndpointRow]] = []
    for row, endpoint in rows:
        if len(chosen) >= limit:
            break
        if taken.get(endpoint.id, 0) >= room.get(endpoint.id, per_endpoint):
            continue
        taken[endpoint.id] = taken.get(endpoint.id, 0) + 1
        chosen.append((row, endpoint))
    return chosen


async def _retained(
    session: AsyncSession,
    chosen: list[tuple[DeliveryRow, EndpointRow]],
    bodies: Mapping[int, str],
    now: datetime,
) -> list[tuple[DeliveryRow, EndpointRow]]:
    """The chosen deliveries whose event the outbox still holds; the others (their event was
    pruned past its retention while they waited) fail for good, never sent without it."""
    gone = [row.id for row, _ in chosen if row.outbox_id not in bodies]
    if gone:
        await session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(gone))
            .values(status=Status.FAILED.value, next_attempt_at=None, last_error=EXPIRED)
        )
    return [(row, endpoint) for row, endpoint in chosen if row.outbox_id in bodies]


async def _bodies(session: AsyncSession, outbox_ids: set[int]) -> dict[int, str]:
    """Each event's JSON, as sent: compact, in the outbox's key order."""
    query = select(OutboxRow.id, OutboxRow.event).where(OutboxRow.id.in_(list(outbox_ids)))
    return {
        row.id: json.dumps(row.event, separators=(",", ":"), ensure_ascii=False)
        for row in (await session.execute(query)).all()
    }


async def _disable(session: AsyncSession, endpoint_id: str, now: datetime) -> None:
    reason = "the endpoint answered 410 Gone"
    await session.execute(
        update(EndpointRow)
        .where(EndpointRow.id == endpoint_id, EndpointRow.disabled_at.is_(None))
        .values(disabled_at=now, disabled_reason=reason)
    )
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.endpoint_id == endpoint_id, DeliveryRow.status == Status.PENDING.value)
        .values(status=Status.CANCELLED.value, next_attempt_at=None)
    )

"""Usage meters ``{tenant_id, resource, amount, ts}``, recorded idempotently and summed.

Every meter event carries an idempotency key, unique per tenant: recording it twice (a retried
job, a redelivered message) counts once, and another tenant's identical key is independent.
``ai_tokens`` is metered with a cap: :meth:`Meters.charge` records the event and adds to the
tenant's counter for the period in one transaction, refusing (and recording nothing) when the
cap would be passed, so concurrent flows can never overspend it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Final

from tenantry.core import ids
from tenantry.core.clock import Clock, utc_now
from tenantry.tenancy.events import once
from tenantry.tenancy.limits import repository
from tenantry.tenancy.limits.errors import InvalidMeter, InvalidPeriod, QuotaExceeded
from tenantry.tenancy.limits.plans import AiCap
from tenantry.tenancy.limits.ports import LimitsSource
from tenantry.tenancy.limits.schemas import (
    MAX_COUNT,
    Allowance,
    Granularity,
    Period,
    UsageBucket,
    UsageReport,
)
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import TenantNotFound, translated

AI_TOKENS: Final = "ai_tokens"
MAX_AMOUNT: Final = 10**15
_METER = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_LONGEST: Final = {
    Granularity.HOUR: timedelta(days=31),
    Granularity.DAY: timedelta(days=366),
    Granularity.TOTAL: timedelta(days=3660),
}


def meter_name(value: object) -> str:
    if not isinstance(value, str) or len(value) > 32 or _METER.fullmatch(value) is None:
        raise InvalidMeter(
            f"meter resource {ids.show(value)} must be lowercase letters and digits joined by "
            "single '_', at most 32 characters"
        )
    return value


def idempotency_key(value: object) -> str:
    if not isinstance(value, str) or _KEY.fullmatch(value) is None:
        raise InvalidMeter(
            f"idempotency key {ids.show(value)} must be 1 to 128 letters, digits, '.', '_', "
            "':' or '-'"
        )
    return value


def amount_of(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_AMOUNT:
        raise InvalidMeter(f"a meter amount is a whole number from 1 to {MAX_AMOUNT}")
    return value


def period_label(period: Period, moment: datetime) -> str:
    """The counter period holding ``moment``: ``2026-11`` or ``2026-11-25`` (UTC)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m" if period is Period.MONTH else "%Y-%m-%d")


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _aware(moment: datetime) -> datetime:
    # A time without a zone is read as UTC, the zone every stored time is in.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else _utc(moment)


def _utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:  # e.g. 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise InvalidPeriod(f"{moment.isoformat()} is out of range in UTC") from error


class Meters:
    def __init__(
        self,
        sessions: SessionFactory,
        source: LimitsSource | None = None,
        *,
        clock: Clock = utc_now,
        events_window: int = 3600,
    ) -> None:
        self._sessions, self._source, self._clock = sessions, source, clock
        self._events_window, self._once = events_window, once.Once()  # quota.exceeded events

    async def record(
        self, tenant: str, resource: str, amount: int, *, key: str, ts: datetime | None = None
    ) -> bool:
        """Record one meter event; False if ``key`` was already recorded for the tenant."""
        tenant, resource = ids.tenant_id(tenant), meter_name(resource)
        amount, key = amount_of(amount), idempotency_key(key)
        at = _aware(ts) if ts is not None else self._clock()
        async with translated(), self._sessions() as session, session.begin():
            return await repository.insert_meter(
                session, tenant, resource=resource, amount=amount, ts=at, hour=_hour(at), key=key
            )

    async def charge(self, tenant: str, amount: int, *, key: str) -> Allowance:
        """Consume ``amount`` AI tokens within the tenant's cap, or raise ``quota.exceeded``.

        A charge whose ``key`` was seen before consumes nothing and reports ``charged=False``.
        """
        tenant, amount, key = ids.tenant_id(tenant), amount_of(amount), idempotency_key(key)
        cap = await self._cap(tenant)
        now = self._clock()
        try:
            return await self._charge(tenant, amount, key, cap, now)
        except QuotaExceeded as refusal:  # rolled back; announced once per window on its own
            await self._announce(tenant, refusal, now)
            raise

    async def _charge(
        self, tenant: str, amount: int, key: str, cap: AiCap, now: datetime
    ) -> Allowance:
        period = period_label(cap.period, now)
        async with translated(), self._sessions() as session, session.begin():
            fresh = await repository.insert_meter(
                session, tenant, resource=AI_TOKENS, amount=amount, ts=now, hour=_hour(now), key=key
            )
            await repository.ensure_counter(session, tenant, AI_TOKENS, period, now=now)
            within = not fresh or await repository.add_within(
                session,
                tenant,
                AI_TOKENS,
                period,
                used=amount,
                items=1,
                max_used=cap.cap,
                max_items=MAX_COUNT,
                now=now,
            )
            used = (await repository.read_counter(session, tenant, AI_TOKENS, period)).used
            if not within:  # raising inside the transaction also undoes the meter row
                raise _over_cap(tenant, amount, used, cap, period)
        return Allowance(
            tenant_id=tenant,
            period=period,
            used=used,
            cap=cap.cap,
            remaining=max(0, cap.cap - used),
            charged=fresh,
        )

    async def _announce(self, tenant: str, refusal: QuotaExceeded, now: datetime) -> None:
        event, key = once.quota_exceeded(
            tenant, AI_TOKENS, dict(refusal.details), now=now, window=self._events_window
        )
        async with translated(), self._sessions() as session, session.begin():
            await self._once.emit(session, event, key=key, now=now)

    async def allowance(self, tenant: str) -> Allowance:
        """What the tenant has used of its AI token cap this period (a check before a flow)."""
        tenant = ids.tenant_id(tenant)
        cap = await self._cap(tenant)
        period = period_label(cap.period, self._clock())
        async with translated(), self._sessions() as session:
            used = (await repository.read_counter(session, tenant, AI_TOKENS, period)).used
        return Allowance(
            tenant_id=tenant,
            period=period,
            used=used,
            cap=cap.cap,
            remaining=max(0, cap.cap - used),
        )

    async def _cap(self, tenant: str) -> AiCap:
        if self._source is None:
            raise TypeError("these meters were built without a limits source; pass one to charge")
        return (await self._source.get(tenant)).ai_tokens

    async def usage(
        self,
        tenant: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        resource: str | None = None,
        granularity: Granularity = Granularity.DAY,
    ) -> UsageReport:
        """Sums of the tenant's meters in ``[start, end)`` per resource, and per day or hour.

        Defaults: from the start of the current UTC month to the end of the current hour.
        """
        tenant = ids.tenant_id(tenant)
        resource = None if resource is None else meter_name(resource)
        end = _aware(end) if end is not None else _hour(self._clock()) + timedelta(hours=1)
        start = _aware(start) if start is not None else _month_start(end)
        _check_range(start, end, granularity)
        async with translated(), self._sessions() as session:
            if not await repository.tenant_exists(session, tenant):
                raise TenantNotFound(tenant)  # not an empty report: the tenant is unknown
            sums = await repository.meter_sums(
                session,
                tenant,
                start=start,
                end=end,
                first_hour=_hour(start),
                resource=resource,
                hourly=granularity is not Granularity.TOTAL,
            )
        return _report(
            tenant, start=start, end=end, resource=resource, granularity=granularity, sums=sums
        )


def _month_start(moment: datetime) -> datetime:
    return _utc(moment).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _check_range(start: datetime, end: datetime, granularity: Granularity) -> None:
    if start >= end:
        raise InvalidPeriod(f"'from' ({start.isoformat()}) must be before 'to' ({end.isoformat()})")
    if end - start > _LONGEST[granularity]:
        raise InvalidPeriod(
            f"a {granularity.value} usage query spans at most {_LONGEST[granularity].days} days"
        )


def _report(
    tenant: str,
    *,
    start: datetime,
    end: datetime,
    resource: str | None,
    granularity: Granularity,
    sums: list[repository.MeterSum],
) -> UsageReport:
    totals: dict[str, int] = defaultdict(int)
    buckets: dict[tuple[datetime, str], int] = defaultdict(int)
    for found in sums:
        totals[found.resource] += found.amount
        if found.hour is not None:
            day = found.hour.replace(hour=0) if granularity is Granularity.DAY else found.hour
            buckets[(day, found.resource)] += found.amount
    return UsageReport(
        tenant_id=tenant,
        start=start,
        end=end,
        granularity=granularity,
        resource=resource,
        totals=dict(sorted(totals.items())),
        buckets=[
            UsageBucket(start=s, resource=r, amount=a) for (s, r), a in sorted(buckets.items())
        ],
    )


def _over_cap(tenant: str, amount: int, used: int, cap: AiCap, period: str) -> QuotaExceeded:
    return QuotaExceeded(
        f"tenant {tenant!r} cannot use {amount} more AI tokens: {used} of its {cap.cap} "
        f"for {period} are used",
        details={"resource": AI_TOKENS, "used": used, "cap": cap.cap, "period": period},
    )

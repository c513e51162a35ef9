"""Refusals remembered: a tenant over its rate limit is refused again without asking the limiter.

GCRA refuses a request when the tenant's theoretical arrival time is too far ahead of now, and
a refusal does not move it; admissions elsewhere (other API processes sharing the limit through
Redis) only push it further. So once the limiter said "retry in ``r`` seconds", every request of
that tenant and route class before then would be refused as well, and answering them from this
memo is exact, not an approximation. That makes a noisy tenant's excess cost a dict lookup (no
Redis round trip) and lets the API refuse it before routing (``api.early``).

An entry is kept at most :data:`MEMO_SECONDS`, so a limit raised meanwhile applies soon (the
limiter is asked again, with the new limit, once the entry lapses).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from tenantry.tenancy.limits.errors import RateLimitExceeded
from tenantry.tenancy.limits.gcra import EPSILON, Decision
from tenantry.tenancy.limits.plans import RateLimit
from tenantry.tenancy.limits.schemas import RouteClass

MEMO_SECONDS: Final = 1.0
SWEEP_AT: Final = 4_096  # entries; lapsed ones are swept when the memo grows past it


@dataclass(frozen=True, slots=True)
class _Refused:
    limit: RateLimit
    until: float  # when the memo stops answering (at most MEMO_SECONDS after the refusal)
    retry_at: float  # when the limiter would admit the same request again
    reset_at: float  # when the tenant's bucket would be full again


def rate_limit_headers(limit: RateLimit, remaining: int, reset: float) -> dict[str, str]:
    """``RateLimit-*`` fields (draft-ietf-httpapi-ratelimit-headers): the burst is the quota,
    the policy window the time an empty bucket takes to refill, reset in whole seconds."""
    window = max(1, math.ceil(limit.burst / limit.rate))
    return {
        "RateLimit-Limit": str(limit.burst),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(math.ceil(reset)),
        "RateLimit-Policy": f"{limit.burst};w={window}",
    }


def exceeded(
    tenant_id: str, route_class: RouteClass, limit: RateLimit, retry_after: float, reset: float
) -> RateLimitExceeded:
    """The ``rate.limited`` refusal, with its ``RateLimit-*`` headers."""
    return RateLimitExceeded(
        f"tenant {tenant_id!r} is over its {route_class.value} rate limit "
        f"({limit.rate:g}/s, burst {limit.burst}); retry in {retry_after:.2f} s",
        retry_after=retry_after,
        headers=rate_limit_headers(limit, 0, reset),
        details={"route_class": route_class.value, "tenant_id": tenant_id},
    )


class RefusalMemo:
    """Per (tenant, route class): until when the limiter's last refusal still holds."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._refused: dict[tuple[str, RouteClass], _Refused] = {}

    def __bool__(self) -> bool:
        """Whether any refusal is remembered (the API's fast path asks this first)."""
        return bool(self._refused)

    def names(self, tenant_id: str) -> bool:
        """Whether a refusal of ``tenant_id`` (of any route class) is remembered."""
        return any((tenant_id, route_class) in self._refused for route_class in RouteClass)

    def remember(
        self, tenant_id: str, route_class: RouteClass, limit: RateLimit, decision: Decision
    ) -> None:
        """Keep the limiter's refusal ``decision`` for this tenant and route class."""
        if len(self._refused) >= SWEEP_AT:
            self._sweep()
        now = self._clock()
        self._refused[(tenant_id, route_class)] = _Refused(
            limit,
            until=now + min(decision.retry_after, MEMO_SECONDS),
            retry_at=now + decision.retry_after,
            reset_at=now + decision.reset,
        )

    def refusal(self, tenant_id: str, route_class: RouteClass) -> RateLimitExceeded | None:
        """The refusal a request would get now, or None when the limiter must be asked."""
        key = (tenant_id, route_class)
        found = self._refused.get(key)
        if found is None:
            return None
        now = self._clock()
        if now + EPSILON >= found.until:  # the limiter's edge is as lenient (gcra.EPSILON)
            del self._refused[key]
            return None
        return exceeded(
            tenant_id, route_class, found.limit, found.retry_at - now, found.reset_at - now
        )

    def _sweep(self) -> None:
        now = self._clock()
        for key in [key for key, found in self._refused.items() if now + EPSILON >= found.until]:
            del self._refused[key]

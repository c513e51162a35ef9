"""Door limits: GCRA buckets per credential or client address (named by digests), with a memo
of refusals and of credentials that verified lately, so a flood past a limit costs a lookup.
"""

from __future__ import annotations

import enum
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from tenantry.core import names
from tenantry.core.settings import Settings
from tenantry.tenancy.limits.errors import RateLimitExceeded
from tenantry.tenancy.limits.gcra import EPSILON, Decision
from tenantry.tenancy.limits.plans import RateLimit
from tenantry.tenancy.limits.ports import DoorLimiter
from tenantry.tenancy.limits.refusals import MEMO_SECONDS, rate_limit_headers

KNOWN_SECONDS: Final = 60.0  # how long a verified credential passes an address's refusal
_SWEEP_AT: Final = 4_096  # entries; lapsed ones are swept when a memo grows past it


class DoorKind(enum.StrEnum):
    CREDENTIAL = "credential"
    ADDRESS = "address"
    REFUSAL = "refusal"  # a credential's refused (403) requests: a smaller budget


@dataclass(frozen=True, slots=True)
class DoorLimits:
    """The rate of each kind of door key (settings ``door_*``)."""

    credential: RateLimit
    address: RateLimit
    refusal: RateLimit

    def of(self, kind: DoorKind) -> RateLimit:
        by_kind = {
            DoorKind.CREDENTIAL: self.credential,
            DoorKind.ADDRESS: self.address,
            DoorKind.REFUSAL: self.refusal,
        }
        return by_kind[kind]

    @classmethod
    def of_settings(cls, settings: Settings | None = None) -> DoorLimits:
        """The limits ``settings`` set (their defaults without ``settings``)."""
        given = settings if settings is not None else Settings.model_construct()
        return cls(
            RateLimit(given.door_credential_rate, given.door_credential_burst),
            RateLimit(given.door_address_rate, given.door_address_burst),
            RateLimit(given.door_refusal_rate, given.door_refusal_burst),
        )


@dataclass(frozen=True, slots=True)
class _Refused:
    until: float  # when the memo stops answering
    retry_at: float
    reset_at: float


def digest(value: str) -> str:
    """The 32-hex-digit name of a credential or address in keys and memos."""
    return hashlib.blake2b(value.encode(), digest_size=16).hexdigest()


class Doors:
    """Door admission on a shared or in-process limiter, with its memo of refusals."""

    def __init__(
        self,
        limiter: DoorLimiter,
        limits: DoorLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limiter, self.limits, self._clock = limiter, limits, clock
        self._refused: dict[tuple[DoorKind, str], _Refused] = {}
        self._known: dict[str, tuple[str, float]] = {}

    def refusal(self, kind: DoorKind, key: str) -> RateLimitExceeded | None:
        """The refusal of ``key`` (a :func:`digest`) while the last one holds, else None."""
        found = self._refused.get((kind, key))
        if found is None:
            return None
        now = self._clock()
        if now + EPSILON >= found.until:
            del self._refused[(kind, key)]
            return None
        return _exceeded(kind, self.limits.of(kind), found.retry_at - now, found.reset_at - now)

    async def admit(self, kind: DoorKind, key: str) -> None:
        """Take one request from ``key``'s bucket, or raise ``rate.limited`` (remembered)."""
        refused = self.refusal(kind, key)
        if refused is not None:
            raise refused
        limit = self.limits.of(kind)
        decision = await self.limiter.acquire_key(names.door_limit_key(kind.value, key), limit)
        if not decision.allowed:
            self._remember(kind, key, decision)
            raise _exceeded(kind, limit, decision.retry_after, decision.reset)

    def verified(self, raw: str, key: str) -> None:
        """Remember that the credential of digest ``raw`` verified just now, with the
        digest ``key`` of its id (the bucket it takes from)."""
        now = self._clock()
        if len(self._known) >= _SWEEP_AT:
            self._known = {k: v for k, v in self._known.items() if v[1] > now}
        self._known[raw] = (key, now + KNOWN_SECONDS)

    def known(self, raw: str) -> str | None:
        """The bucket key of the credential of digest ``raw`` if it verified in the last
        :data:`KNOWN_SECONDS`, else None."""
        found = self._known.get(raw)
        return found[0] if found is not None and found[1] > self._clock() else None

    def _remember(self, kind: DoorKind, key: str, decision: Decision) -> None:
        now = self._clock()
        if len(self._refused) >= _SWEEP_AT:
            self._refused = {k: r for k, r in self._refused.items() if r.until > now}
        self._refused[(kind, key)] = _Refused(
            until=now + min(decision.retry_after, MEMO_SECONDS),
            retry_at=now + decision.retry_after,
            reset_at=now + decision.reset,
        )


def _exceeded(
    kind: DoorKind, limit: RateLimit, retry_after: float, reset: float
) -> RateLimitExceeded:
    what = (
        "refused requests from this credential"
        if kind is DoorKind.REFUSAL
        else f"requests from this {kind.value}"
    )
    return RateLimitExceeded(
        f"too many {what} ({limit.rate:g}/s, burst {limit.burst}); "
        f"retry in {max(retry_after, 0.0):.2f} s",
        retry_after=max(retry_after, 0.0),
        headers=rate_limit_headers(limit, 0, max(reset, 0.0)),
        details={"limited_by": kind.value},
    )

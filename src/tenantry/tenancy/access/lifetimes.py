"""How long a new token may live: the shortest of its caps (read from the plans; decided purely).

Each tenant a token grants caps it at its plan's ``max_token_ttl`` (a platform-admin token at the
built-in plan's); a token minted with a token lives no longer than the token minting it. A
request for longer is refused, never silently shortened, naming the cap; a request that names
no lifetime gets :data:`DEFAULT_TTL`, or the cap when that is shorter.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from tenantry.tenancy.access.errors import InvalidTtl
from tenantry.tenancy.limits import plans
from tenantry.tenancy.limits.ports import LimitsSource

DEFAULT_TTL: Final = timedelta(hours=1)


class CapKind(enum.StrEnum):
    PLAN = "plan"  # the max_token_ttl of a granted tenant's plan (or the built-in plan's)
    ISSUER = "issuer"  # the remaining lifetime of the token that mints this one


@dataclass(frozen=True, slots=True)
class Cap:
    seconds: int
    kind: CapKind
    tenant: str | None = None  # the tenant whose plan caps (PLAN caps of tenant tokens)

    def reason(self) -> str:
        if self.kind is CapKind.ISSUER:
            return "the token issuing it expires then"
        if self.tenant is None:
            return "the built-in plan's max_token_ttl, for platform-admin tokens"
        return f"the max_token_ttl of tenant {self.tenant!r}'s plan"


def lifetime(asked: timedelta | None, caps: Iterable[Cap]) -> int:
    """Seconds the token lives: ``asked`` if no cap is shorter, else :class:`InvalidTtl`."""
    cap = min(caps, key=lambda c: c.seconds)
    if asked is None and cap.seconds >= 1:
        return min(int(DEFAULT_TTL.total_seconds()), cap.seconds)
    seconds = int(asked.total_seconds()) if asked is not None else 0
    if 1 <= seconds <= cap.seconds:
        return seconds
    details = {
        "asked_seconds": None if asked is None else seconds,
        "max_seconds": max(cap.seconds, 0),
        "limited_by": cap.kind.value,
        "tenant_id": cap.tenant,
    }
    if seconds < 1 and asked is not None:
        raise InvalidTtl(f"a token lives at least 1 second; {seconds} asked", details=details)
    if cap.seconds < 1:
        expiring = "the token issuing this one expires now: it issues no more"
        raise InvalidTtl(expiring, details=details)
    raise InvalidTtl(
        f"a token may live at most {cap.seconds} seconds here ({cap.reason()}); {seconds} asked",
        details=details,
    )


async def caps(
    source: LimitsSource, tenants: Sequence[str], *, now: int, not_after: int | None
) -> list[Cap]:
    """What caps a new token's lifetime: each granted tenant's plan (a platform-admin token:
    the built-in plan's), and the minting token's expiry when it has one."""
    found = []
    for tenant in dict.fromkeys(tenants):
        limits = await source.get(tenant)
        found.append(Cap(int(limits.max_token_ttl.total_seconds()), CapKind.PLAN, tenant))
    if not found:
        builtin = plans.effective(None).max_token_ttl
        found.append(Cap(int(builtin.total_seconds()), CapKind.PLAN))
    if not_after is not None:
        found.append(Cap(not_after - now, CapKind.ISSUER))
    return found

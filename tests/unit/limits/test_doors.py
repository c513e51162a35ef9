"""Door limits: a credential's or an address's bucket, refusals remembered, keys as digests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.limits.doors import DoorKind, DoorLimits, Doors, digest
from tenantry.tenancy.limits.errors import RateLimitExceeded
from tenantry.tenancy.limits.gcra import Decision
from tenantry.tenancy.limits.local import LocalRateLimiter
from tenantry.tenancy.limits.plans import RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counting(LocalRateLimiter):
    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.asked = 0

    async def acquire_key(self, key: str, limit: RateLimit) -> Decision:
        self.asked += 1
        return await super().acquire_key(key, limit)


def doors(clock: Clock) -> tuple[Doors, Counting]:
    limiter = Counting(clock)
    limits = DoorLimits(
        credential=RateLimit(1.0, 3), address=RateLimit(0.5, 2), refusal=RateLimit(0.5, 2)
    )
    return Doors(limiter, limits, clock=clock), limiter


async def test_a_key_passes_its_burst_then_is_refused_from_memory() -> None:
    clock = Clock()
    found, limiter = doors(clock)
    key = digest("jti-1")
    for _ in range(3):
        await found.admit(DoorKind.CREDENTIAL, key)
    with pytest.raises(RateLimitExceeded) as refused:
        await found.admit(DoorKind.CREDENTIAL, key)
    assert refused.value.details == {"limited_by": "credential"}
    assert refused.value.headers["RateLimit-Limit"] == "3"
    asked = limiter.asked
    assert found.refusal(DoorKind.CREDENTIAL, key) is not None
    with pytest.raises(RateLimitExceeded):
        await found.admit(DoorKind.CREDENTIAL, key)
    assert limiter.asked == asked  # answered from the memo
    assert found.refusal(DoorKind.ADDRESS, key) is None  # kinds are apart
    await found.admit(DoorKind.CREDENTIAL, digest("jti-2"))  # and keys
    clock.now += 1.0
    assert found.refusal(DoorKind.CREDENTIAL, key) is None
    await found.admit(DoorKind.CREDENTIAL, key)  # one more earned


def test_a_verified_credential_is_known_for_a_while() -> None:
    clock = Clock()
    found, _ = doors(clock)
    assert found.known(digest("tok")) is None
    found.verified(digest("tok"), digest("jti"))
    assert found.known(digest("tok")) == digest("jti")
    clock.now += 61
    assert found.known(digest("tok")) is None


def test_door_keys_are_digests_of_a_kind() -> None:
    key = digest("203.0.113.9")
    assert len(key) == 32
    assert names.door_limit_key("address", key) == f"door:address:{key}"
    for kind, value in (("tenant", key), ("address", "203.0.113.9"), ("address", key.upper())):
        with pytest.raises(InvalidInput):
            names.door_limit_key(kind, value)


@given(
    st.sampled_from(["credential", "address"]),
    st.text(),
    st.sampled_from(["credential", "address"]),
    st.text(),
)
def test_door_keys_are_injective(kind_a: str, a: str, kind_b: str, b: str) -> None:
    same = names.door_limit_key(kind_a, digest(a)) == names.door_limit_key(kind_b, digest(b))
    assert same == ((kind_a, a) == (kind_b, b))

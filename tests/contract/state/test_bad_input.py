"""Bad values and TTLs: a clear error with its code, and nothing written."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tenantry.core import names
from tenantry.core.errors import TenantryError
from tenantry.runtime.state import StateCorrupt, StateTooLarge, StateTtlInvalid, StateValueInvalid
from tests.contract.state.support import ENV, Harness


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


BAD_VALUES: list[tuple[str, Any, type[TenantryError]]] = [
    ("nan", math.nan, StateValueInvalid),
    ("inf", math.inf, StateValueInvalid),
    ("-inf nested", {"a": [1, -math.inf]}, StateValueInvalid),
    ("null", None, StateValueInvalid),
    ("set", {1, 2}, StateValueInvalid),
    ("bytes", b"raw", StateValueInvalid),
    ("object", object(), StateValueInvalid),
    ("int key", {1: "x"}, StateValueInvalid),
    ("none key", {"a": {None: 1}}, StateValueInvalid),
    ("lone surrogate", "\udc80", StateValueInvalid),
    ("huge int", 10**5000, StateValueInvalid),
    ("too deep", _nested(100), StateValueInvalid),
    ("too large", "x" * 1000, StateTooLarge),
    ("too large in bytes", "\u00e9" * 500, StateTooLarge),
]


@pytest.mark.parametrize(
    ("value", "error"), [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES]
)
async def test_bad_values_are_rejected_and_nothing_is_written(
    harness: Harness, value: Any, error: type[TenantryError]
) -> None:
    store = harness.bind(harness.tenant(), max_value_bytes=999)
    await store.set("support", "kept", "old")
    before = await harness.keys()
    for session in ("kept", "new"):
        with pytest.raises(error) as caught:
            await store.set("support", session, value)
        assert caught.value.code in {"state.value_invalid", "state.too_large"}
    assert await harness.keys() == before
    assert await store.get("support", "kept") == "old"


async def test_the_size_cap_counts_encoded_utf8_bytes(harness: Harness) -> None:
    store = harness.bind(harness.tenant(), max_value_bytes=100)
    await store.set("support", "s1", "a" * 98)  # 98 + 2 quotes = 100 bytes
    await store.set("support", "s2", "\u00e9" * 49)  # 2 bytes each
    with pytest.raises(StateTooLarge) as caught:
        await store.set("support", "s3", "\u00e9" * 50)
    assert caught.value.details == {"size": 102, "limit": 100}
    assert caught.value.code == "state.too_large"
    assert await store.get("support", "s3") is None


@pytest.mark.parametrize("ttl", [0, -1, math.nan, math.inf, True, "10", 1e12])
async def test_bad_ttls_are_rejected_and_nothing_is_written(harness: Harness, ttl: Any) -> None:
    store = harness.bind(harness.tenant())
    before = await harness.keys()
    with pytest.raises(StateTtlInvalid) as caught:
        await store.set("support", "s1", "v", ttl=ttl)
    assert caught.value.code == "state.ttl_invalid"
    assert await harness.keys() == before


async def test_foreign_bytes_under_a_key_are_reported_as_corrupt(harness: Harness) -> None:
    tenant = harness.tenant()
    await harness.plant(names.state_key(tenant, ENV, None, "s1"), b"{not json")
    with pytest.raises(StateCorrupt):
        await harness.bind(tenant).get(None, "s1")

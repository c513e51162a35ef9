"""The state contract on every backend: values, TTLs, deletes, and tenants apart under load."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tenantry.backends.redis.errors import RedisUnavailable
from tenantry.backends.redis.state import RedisState, glob_literal
from tenantry.backends.sqlite.state import SqliteState
from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.runtime.state import StateKeys, StateNotFound, StateStore
from tests.contract.state.support import (
    ENV,
    FEW,
    REDIS_URL,
    RUN,
    CountingRedis,
    FakeClock,
    Harness,
    closed_port,
    ops,
)

VALUES: list[Any] = [
    {"cursor": "node_1", "vars": {"n": 1, "ok": True, "none": None}, "list": [1.5, "x", []]},
    [1, 2, 3],
    "hello, 世界 ✓",
    "",
    0,
    -(2**63),
    3.25,
    False,
    {"": {"deep": [[[{"a": None}]]]}},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
async def test_round_trip(harness: Harness, value: Any) -> None:
    store = harness.bind(harness.tenant())
    assert await store.get("support", "s1") is None
    await store.set("support", "s1", value)
    assert await store.get("support", "s1") == value
    await store.set("support", "s1", {"replaced": True})
    assert await store.get("support", "s1") == {"replaced": True}


async def test_keys_are_exactly_the_named_format(harness: Harness) -> None:
    tenant = harness.tenant()
    store = harness.bind(tenant)
    await store.set("support", "s_1-a", 1)
    await store.set(None, "s2", 2)
    assert await store.get("default", "s2") == 2  # no team and "default" are one team
    assert await harness.keys() >= {
        names.state_key(tenant, ENV, "support", "s_1-a"),
        f"state:{tenant}:{ENV}:default:s2",
    }
    assert (store.tenant_id, store.env_id) == (tenant, ENV)


async def test_ttl_reports_remaining_time_and_none_without_expiry(harness: Harness) -> None:
    store = harness.bind(harness.tenant())
    await store.set("support", "s1", "v", ttl=60)
    remaining = await store.ttl("support", "s1")
    assert remaining is not None and 0 < remaining <= 60
    await store.set("support", "s1", "v")  # a plain set drops the old expiry
    assert await store.ttl("support", "s1") is None
    with pytest.raises(StateNotFound) as caught:
        await store.ttl("support", "missing")
    assert caught.value.code == "state.not_found"


async def test_expired_values_are_invisible(harness: Harness) -> None:
    store = harness.bind(harness.tenant())
    await store.set("support", "gone", "v", ttl=harness.short_ttl)
    await store.set("support", "kept", "v")
    await harness.outlive(harness.short_ttl)
    assert await store.get("support", "gone") is None
    with pytest.raises(StateNotFound):
        await store.ttl("support", "gone")
    assert not await store.delete("support", "gone")
    assert await store.get("support", "kept") == "v"
    await store.set("support", "gone2", "v", ttl=harness.short_ttl)
    await harness.outlive(harness.short_ttl)
    assert await store.clear() == 1  # only the live value is counted


async def test_delete_removes_one_session_only(harness: Harness) -> None:
    store = harness.bind(harness.tenant())
    await store.set("support", "s1", 1)
    await store.set("support", "s2", 2)
    await store.set("sales", "s1", 3)
    assert await store.delete("support", "s1")
    assert not await store.delete("support", "s1")
    assert await store.get("support", "s1") is None
    assert [await store.get("support", "s2"), await store.get("sales", "s1")] == [2, 3]


def _neighbours(harness: Harness, tenant: str) -> list[StateStore]:
    """Stores whose prefixes extend or sit next to ``tenant``/``prod``'s."""
    return [
        harness.bind(tenant, "prod-2"),
        harness.bind(tenant + "-b"),
        harness.bind(tenant, "pro"),
    ]


async def test_clear_team_removes_only_that_team_of_this_tenant(harness: Harness) -> None:
    tenant = harness.tenant()
    store = harness.bind(tenant)
    others = _neighbours(harness, tenant)
    for team in ("support", "support-2", "sales", None):
        await store.set(team, "s1", team or "default")
        await store.set(team, "s2", team or "default")
    for other in others:
        await other.set("support", "s1", "other")
    assert await store.clear_team("support") == 2
    assert await store.get("support", "s1") is None
    assert await store.get("support-2", "s1") == "support-2"
    assert await store.get(None, "s2") == "default"
    assert await store.clear_team(None) == 2
    assert await store.get("sales", "s2") == "sales"
    for other in others:
        assert await other.get("support", "s1") == "other"


async def test_clear_removes_this_tenant_environment_only(harness: Harness) -> None:
    tenant = harness.tenant()
    store = harness.bind(tenant)
    others = _neighbours(harness, tenant)
    for index in range(30):
        await store.set(f"team-{index % 3}", f"s{index}", index)
    for other in others:
        await other.set("team-0", "s0", "other")
    before = await harness.keys()
    assert await store.clear() == 30
    assert await store.clear() == 0
    removed = before - await harness.keys()
    assert len(removed) == 30 and all(k.startswith(f"state:{tenant}:{ENV}:") for k in removed)
    for other in others:
        assert await other.get("team-0", "s0") == "other"


async def test_interleaved_operations_across_tenants_stay_apart(harness: Harness) -> None:
    tenants = [harness.tenant() for _ in range(50)]
    stores = {tenant: harness.bind(tenant) for tenant in tenants}

    async def operate(tenant: str, index: int) -> None:
        store, team, session = stores[tenant], f"team-{index % 2}", f"s{index % 5}"
        await store.set(team, session, {"tenant": tenant, "index": index})
        await asyncio.sleep(0)
        seen = await store.get(team, session)
        assert isinstance(seen, dict) and seen["tenant"] == tenant

    work = [(tenant, index) for tenant in tenants for index in range(20)]
    random.Random(4).shuffle(work)
    await asyncio.gather(*(operate(tenant, index) for tenant, index in work))
    for tenant, store in stores.items():
        for team in ("team-0", "team-1"):
            for session in (f"s{i}" for i in range(5)):
                value = await store.get(team, session)
                assert isinstance(value, dict) and value["tenant"] == tenant


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
).filter(lambda value: value is not None)


@FEW
@given(value=json_values)
async def test_any_json_value_round_trips(harness: Harness, value: Any) -> None:
    store = harness.bind(f"{RUN}-hyp")
    await store.set("support", "s1", value)
    assert await store.get("support", "s1") == value


async def test_redis_down_is_unavailable_with_its_cause() -> None:
    backend = RedisState(f"redis://127.0.0.1:{closed_port()}/0", timeout=1.0)
    store = backend.bind("acme", ENV)
    calls = [*ops("support", "s1").values(), lambda s: s.clear(), lambda s: s.clear_team(None)]
    try:
        for call in calls:
            with pytest.raises(RedisUnavailable) as caught:
                await call(store)
            assert caught.value.code == "redis.unavailable"
            assert "Redis is unavailable" in caught.value.message
            assert isinstance(caught.value.__cause__, RedisConnectionError)
    finally:
        await backend.aclose()


async def test_redis_hot_path_is_one_command_each(
    redis_client: Redis,
) -> None:
    client = CountingRedis.from_url(REDIS_URL)  # redis_client: cleans up after a failure
    assert isinstance(client, CountingRedis)
    client.sent = []
    store = RedisState(client).bind(f"{RUN}-count", ENV)
    try:
        await store.set("support", "warm", 1)  # loads the scripts on a fresh server
        await store.delete("support", "warm")
        client.sent = []
        await store.set("support", "s1", {"a": 1})
        await store.set("support", "s1", {"a": 1}, ttl=60)
        await store.get("support", "s1")
        await store.ttl("support", "s1")
        await store.delete("support", "s1")
        # No quota, so no write waits for room: each is one script (see test_redis_writes).
        assert client.sent == ["EVALSHA"] * 2 + ["GET", "PTTL", "EVALSHA"]
    finally:
        await client.aclose()


async def test_a_borrowed_redis_client_is_left_open(redis_client: Redis) -> None:
    backend = RedisState(redis_client)
    await backend.bind(f"{RUN}-borrowed", ENV).set(None, "s1", 1)
    await backend.aclose()
    assert await redis_client.ping()


def test_a_bad_redis_url_is_invalid_input_without_echoing_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        RedisState("http://user:hunter2@127.0.0.1:6379/0")
    assert caught.value.code == "setting.invalid" and "hunter2" not in caught.value.message


def test_bulk_prefixes_are_cut_from_the_named_key() -> None:
    keys = StateKeys.of("acme", "prod")
    assert keys.team_prefix(None) == "state:acme:prod:default:"
    assert keys.team_prefix("support") == "state:acme:prod:support:"
    assert keys.env_prefix() == "state:acme:prod:"
    assert keys.owns("state:acme:prod:sales:s1")
    assert not keys.owns("state:acme-b:prod:sales:s1") and not keys.owns("state:acme:prod:x")


def test_glob_literal_escapes_every_special() -> None:
    assert glob_literal("state:a*b?[c]\\^:") == "state:a\\*b\\?\\[c\\]\\\\\\^:"


async def test_sqlite_purges_expired_rows_when_their_environment_writes(tmp_path: Path) -> None:
    clock = FakeClock()
    database = SqliteState(tmp_path / "state.sqlite3", clock=clock, sweep_every=60)
    store, other = database.bind("acme", ENV), database.bind("bigcorp", ENV)
    try:
        await store.set("support", "old", 1, ttl=10)
        await other.set("support", "old", 1, ttl=10)
        await store.set("support", "live", 1)
        clock.now += 11
        await store.set("support", "early", 1)  # within sweep_every of the last purge: none
        clock.now += 61
        await store.set("support", "other", 1)  # the first write after sweep_every purges
        rows = await database.run("SELECT key FROM state ORDER BY key", ())
        assert [row[0] for row in rows] == [
            "state:acme:prod:support:early",
            "state:acme:prod:support:live",
            "state:acme:prod:support:other",
            "state:bigcorp:prod:support:old",  # expired, left for bigcorp's own next write
        ]
    finally:
        await database.aclose()


async def test_entries_list_the_live_values_of_this_tenant_environment_only(
    harness: Harness,
) -> None:
    tenant = harness.tenant()
    store, other_env = harness.bind(tenant), harness.bind(tenant, "other-env")
    neighbour = harness.bind(harness.tenant("-n"))
    assert await store.entries() == []
    await store.set("support", "s2", 1)
    await store.set(None, "s1", 2)
    await store.set("support", "gone", 3, ttl=harness.short_ttl)
    await other_env.set("support", "elsewhere", 4)
    await neighbour.set("support", "theirs", 5)
    await harness.outlive(harness.short_ttl)
    assert await store.entries() == [("default", "s1"), ("support", "s2")]

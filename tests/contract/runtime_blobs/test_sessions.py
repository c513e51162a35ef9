"""The session store over every blob backend: records, revisions, paging, expiry, size caps."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tenantry.core import clock, ids, names
from tenantry.runtime.crypto import Binding, Sealer
from tenantry.runtime.sessions import codec
from tenantry.runtime.sessions.errors import (
    CursorInvalid,
    RevisionMismatch,
    SessionExists,
    SessionInvalid,
    SessionNotFound,
    SessionTooLarge,
)
from tenantry.runtime.sessions.schemas import FlowCursor, Session, TranscriptEntry
from tenantry.runtime.sessions.store import SessionStore
from tests.contract.runtime_blobs.conftest import Backend

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def ticking() -> Clock:
    return Clock()


@pytest.fixture
def store(backend: Backend, sealer: Sealer, ticking: Clock) -> SessionStore:
    return SessionStore("acme", "prod", backend.session_root(), sealer, clock=ticking)


def _entry(text: str) -> TranscriptEntry:
    return TranscriptEntry("user", text, NOW, {"lang": "en"})


async def test_create_and_get_keep_every_field(store: SessionStore) -> None:
    made = await store.create(
        "support",
        "s_001",
        channel="slack",
        user="u-42",
        cursor=FlowCursor("acme_support_flow", "greet", "1.0"),
        variables={"name": "Ada", "n": [1, 2.5, None, True, {"deep": "x"}]},
        transcript=[_entry("hello"), TranscriptEntry("assistant", "hi", NOW)],
        ttl=timedelta(hours=1),
    )
    assert made.revision == 1 and made.created_at == made.updated_at == NOW
    assert made.expires_at == NOW + timedelta(hours=1)
    assert await store.get("support", "s_001") == made


async def test_the_default_team(store: SessionStore) -> None:
    made = await store.create(None, "s1")
    assert made.team_id == "default"
    assert await store.get("default", "s1") == await store.get(None, "s1") == made
    with pytest.raises(SessionExists):
        await store.create("default", "s1")


async def test_stored_exactly_at_the_session_path_and_sealed(
    backend: Backend, store: SessionStore, sealer: Sealer
) -> None:
    await store.create("support", "s1", variables={"plain": "visible?"})
    path = names.session_path("acme", "prod", "support", "s1")
    assert path == "sessions/acme/prod/support/s1.cbor"
    sealed = (await backend.session_root().get(path)).data
    assert b"visible?" not in sealed
    plain = sealer.open(Binding("acme", "prod", "session", path), sealed)
    assert codec.decode(plain).variables == {"plain": "visible?"}
    if backend.root is not None:
        assert (backend.root / "runtime" / path).read_bytes() == sealed


async def test_missing_and_duplicate(store: SessionStore) -> None:
    with pytest.raises(SessionNotFound) as caught:
        await store.get("support", "nope")
    assert caught.value.code == "session.not_found"
    await store.create("support", "s1")
    with pytest.raises(SessionExists) as exists:
        await store.create("support", "s1")
    assert exists.value.code == "session.exists"
    assert await store.delete("support", "s1") is True
    assert await store.delete("support", "s1") is False


async def test_update_bumps_the_revision(store: SessionStore, ticking: Clock) -> None:
    made = await store.create("support", "s1")
    ticking.now = NOW + timedelta(minutes=5)
    changed = replace(made, variables={"step": 2}, transcript=(_entry("more"),))
    updated = await store.update(changed, ttl=timedelta(minutes=30))
    assert updated.revision == 2 and updated.updated_at == ticking.now
    assert updated.created_at == NOW and updated.expires_at == ticking.now + timedelta(minutes=30)
    assert await store.get("support", "s1") == updated
    with pytest.raises(RevisionMismatch) as caught:
        await store.update(replace(made, variables={"stale": True}))
    assert caught.value.code == "session.revision_mismatch"
    assert (await store.get("support", "s1")).variables == {"step": 2}


async def test_update_by_revision_number_alone(store: SessionStore) -> None:
    made = await store.create("support", "s1")
    await store.update(made)
    fresh = await store.get("support", "s1")
    # A record built by hand (say, from an API body) carries no read version: the store reads.
    by_hand = Session(**{f: getattr(fresh, f) for f in _FIELDS} | {"variables": {"v": 1}})
    assert (await store.update(by_hand)).revision == 3
    with pytest.raises(RevisionMismatch):
        await store.update(replace(by_hand, revision=2))
    with pytest.raises(RevisionMismatch):  # a read record relabelled with an older revision
        await store.update(replace(await store.get("support", "s1"), revision=1))
    with pytest.raises(SessionNotFound):
        await store.update(replace(by_hand, session_id="other"))


_FIELDS = [f for f in Session.__dataclass_fields__ if not f.startswith("_")]


async def test_two_updaters_of_one_revision_one_wins(store: SessionStore) -> None:
    made = await store.create("support", "race")
    for turn in range(3):
        current = await store.get("support", "race")
        attempts = [replace(current, variables={"writer": n}) for n in range(6)]
        outcomes = await asyncio.gather(
            *(store.update(a) for a in attempts), return_exceptions=True
        )
        winners = [o for o in outcomes if isinstance(o, Session)]
        assert len(winners) == 1
        assert all(isinstance(o, RevisionMismatch) for o in outcomes if o is not winners[0])
        assert await store.get("support", "race") == winners[0]
        assert winners[0].revision == made.revision + turn + 1


async def test_delete_at_a_revision(store: SessionStore) -> None:
    made = await store.create("support", "s1")
    await store.update(made)
    with pytest.raises(RevisionMismatch):
        await store.delete("support", "s1", revision=1)
    assert await store.delete("support", "s1", revision=2) is True
    assert await store.delete("support", "s1", revision=2) is False


async def test_listing_per_team_and_per_env(store: SessionStore) -> None:
    for team, session in [("support", "b"), ("support", "a"), ("sales", "c"), (None, "d")]:
        await store.create(team, session)
    keys = await store.list_keys()
    assert [(k.team_id, k.session_id) for k in keys.items] == [
        ("default", "d"),
        ("sales", "c"),
        ("support", "a"),
        ("support", "b"),
    ]
    assert keys.next_cursor is None
    support = await store.list(team="support")
    assert [s.session_id for s in support.items] == ["a", "b"]
    assert [s.session_id for s in (await store.list(team=None)).items] == ["d"]
    seen, cursor = [], None
    while True:
        page = await store.list(limit=3, after=cursor)
        seen += [s.session_id for s in page.items]
        if (cursor := page.next_cursor) is None:
            break
    assert seen == ["d", "c", "a", "b"]


@pytest.mark.parametrize("cursor", ["../x", "/abs", "a//b", "nul\x00", ""])
async def test_malformed_cursors(store: SessionStore, cursor: str) -> None:
    with pytest.raises(CursorInvalid) as caught:
        await store.list(after=cursor)
    assert caught.value.code == "session.cursor_invalid"


async def test_expiry_and_sweep(store: SessionStore, ticking: Clock) -> None:
    await store.create("support", "short", ttl=timedelta(minutes=1))
    await store.create("support", "long", ttl=timedelta(days=1))
    await store.create("sales", "forever")
    renewed = await store.create("sales", "renewed", ttl=timedelta(minutes=1))
    await store.update(renewed, ttl=timedelta(hours=2))
    ticking.now = NOW + timedelta(minutes=2)
    with pytest.raises(SessionNotFound, match="expired"):
        await store.get("support", "short")
    listed = {s.session_id for s in (await store.list()).items}
    assert listed == {"long", "forever", "renewed"}
    assert await store.sweep_expired() == 1
    assert await store.sweep_expired() == 0
    assert {k.session_id for k in (await store.list_keys()).items} == listed
    assert await store.sweep_expired(NOW + timedelta(days=2)) == 2
    assert [k.session_id for k in (await store.list_keys()).items] == ["forever"]


async def test_an_expired_id_can_be_created_again(store: SessionStore, ticking: Clock) -> None:
    await store.create("support", "s1", ttl=timedelta(seconds=1))
    ticking.now = NOW + timedelta(seconds=5)
    again = await store.create("support", "s1", variables={"new": True})
    assert again.revision == 1 and (await store.get("support", "s1")).variables == {"new": True}


async def test_the_store_default_ttl(backend: Backend, sealer: Sealer) -> None:
    pinned = clock.fixed(NOW)
    store = SessionStore(
        "acme", "prod", backend.session_root(), sealer, default_ttl=timedelta(hours=3), clock=pinned
    )
    assert (await store.create("t", "s")).expires_at == NOW + timedelta(hours=3)


async def test_size_cap_writes_nothing(backend: Backend, sealer: Sealer) -> None:
    store = SessionStore("acme", "prod", backend.session_root(), sealer, max_bytes=2048)
    with pytest.raises(SessionTooLarge) as caught:
        await store.create("support", "big", variables={"blob": "x" * 4096})
    assert caught.value.code == "session.too_large"
    with pytest.raises(SessionNotFound):
        await store.get("support", "big")
    made = await store.create("support", "grows", variables={"blob": "x" * 100})
    with pytest.raises(SessionTooLarge):
        await store.update(replace(made, variables={"blob": "x" * 4096}))
    assert await store.get("support", "grows") == made


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "variables",
    [
        {"set": {1, 2}},
        {"bytes": b"raw"},
        {"nan": math.nan},
        {"inf": -math.inf},
        {"huge": 2**64},
        {"deep": _nested(40)},
        {1: "int key"},
        {"when": NOW},
    ],
)
async def test_values_that_are_not_json_like(
    store: SessionStore, variables: dict[object, object]
) -> None:
    with pytest.raises(SessionInvalid) as caught:
        await store.create("support", "bad", variables=variables)  # type: ignore[arg-type]
    assert caught.value.code == "session.invalid"
    with pytest.raises(SessionNotFound):
        await store.get("support", "bad")


async def test_naive_timestamps_are_refused(store: SessionStore) -> None:
    entry = TranscriptEntry("user", "hi", datetime(2025, 1, 1))  # naive on purpose
    with pytest.raises(SessionInvalid, match="timezone"):
        await store.create("support", "naive", transcript=[entry])
    with pytest.raises(SessionNotFound):
        await store.get("support", "naive")


async def test_restore_stores_records_as_given_over_what_is_there(
    backend: Backend, sealer: Sealer, ticking: Clock
) -> None:
    quota = CountingQuota()
    store = SessionStore("acme", "prod", backend.session_root(), sealer, clock=ticking, quota=quota)
    made = await store.create("support", "s_r", variables={"n": 1}, ttl=timedelta(hours=1))
    updated = await store.update(replace(made, variables={"n": 2}))
    other = await store.create(None, "s_o")
    assert await store.clear() == 2 and quota.held == (0, 0)
    assert await store.restore([updated, other]) == 2
    assert await store.get("support", "s_r") == updated and (await store.get(None, "s_o")) == other
    counted = quota.held
    ticking.now += timedelta(minutes=1)
    assert await store.restore([replace(made, variables={"n": 3})]) == 1  # over the stored one
    assert (await store.get("support", "s_r")).variables == {"n": 3}
    assert quota.held[1] == counted[1] == 2
    with pytest.raises(SessionNotFound):
        await store.restore([replace(made, env_id=ids.env_id("dev"))])
    assert await store.restore([]) == 0


class CountingQuota:
    """Bytes and items held, as a store counts them."""

    def __init__(self) -> None:
        self.bytes, self.items = 0, 0

    @property
    def held(self) -> tuple[int, int]:
        return self.bytes, self.items

    @contextlib.asynccontextmanager
    async def reserve(
        self, resource: str, bytes: int, count: int = 1, *, item_bytes: int | None = None
    ) -> AsyncIterator[None]:
        self.bytes, self.items = self.bytes + bytes, self.items + count
        yield

    async def release(self, resource: str, bytes: int, count: int = 1) -> None:
        self.bytes, self.items = self.bytes - bytes, self.items - count

"""The per-session order gate, and the pools' directory: pure decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenantry.core.errors import InvalidInput
from tenantry.runtime.flows.turns import Turn, recorded
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.sessions.schemas import Session
from tenantry.tenancy.pools.directory import EVERY, Served, check_pool, of_pool, served
from tenantry.worker.runners.ordering import Gate, Waiting, gate, last_seq, numbered

T0 = datetime(2026, 12, 6, tzinfo=UTC)
GAP = timedelta(seconds=10)
ZERO = timedelta(0)


def message(seq: int | None, message_id: str = "m", at: datetime = T0) -> Envelope:
    return Envelope.of(
        message_id=message_id,
        tenant_id="acme",
        env_id="prod",
        team_id="support",
        channel_id="webchat",
        session_id="s1",
        user_id="u1",
        text="hi",
        seq=seq,
        sent_at=at,
        received_at=at,
    )


def session_after(*seqs: int | None) -> Session:
    record = Session(
        tenant_id="acme",  # type: ignore[arg-type]
        env_id="prod",  # type: ignore[arg-type]
        team_id="support",  # type: ignore[arg-type]
        session_id="s1",  # type: ignore[arg-type]
        channel_id="webchat",  # type: ignore[arg-type]
        user_id="u1",
        cursor=None,
        variables={},
        transcript=(),
        created_at=T0,
        updated_at=T0,
        expires_at=None,
        revision=1,
    )
    for index, seq in enumerate(seqs):
        sent = message(seq, f"m{index}")
        record = numbered(recorded(record, sent, Turn(replies=("ok",), cursor=None), T0), sent)
    return record


@pytest.mark.parametrize(
    ("recorded_seqs", "seq", "waited", "expected"),
    [
        ((), 1, ZERO, Gate.GO),
        ((), None, ZERO, Gate.GO),
        ((1,), 2, ZERO, Gate.GO),
        ((1,), 3, ZERO, Gate.WAIT),
        ((1,), 3, GAP, Gate.SKIP_GAP),
        ((), 2, GAP - timedelta(seconds=1), Gate.WAIT),
        ((5,), 1, ZERO, Gate.GO),  # a counter reset (or a late message after a skipped gap)
        ((1, None), 3, ZERO, Gate.WAIT),  # an unnumbered message does not advance the order
    ],
)
def test_the_gate(
    recorded_seqs: tuple[int | None, ...], seq: int | None, waited: timedelta, expected: Gate
) -> None:
    assert gate(session_after(*recorded_seqs), message(seq), waited=waited, gap=GAP) is expected


def test_waiting_counts_from_the_first_hold_back() -> None:
    now = [100.0]
    waiting = Waiting(lambda: now[0], keep=2)
    assert waiting.waited("a") == ZERO
    now[0] = 105.0
    assert waiting.waited("a") == timedelta(seconds=5)
    waiting.done("a")
    assert waiting.waited("a") == ZERO
    waiting.waited("b")
    waiting.waited("c")  # over ``keep``: the oldest is forgotten
    now[0] = 110.0
    assert waiting.waited("a") == ZERO


def test_the_last_number_is_the_newest_user_entrys() -> None:
    assert last_seq(session_after()) is None
    assert last_seq(session_after(1, 2)) == 2
    assert last_seq(session_after(7, 1)) == 1


def test_the_directory_serves_only_serving_tenants_in_their_pool() -> None:
    shared = {"prod": {"runtime_pool": "shared"}, "dev": {"runtime_pool": "shared"}}
    rows = [
        ("acme", "active", shared),
        ("bigcorp", "migrating", {"prod": {"runtime_pool": "tenant:bigcorp"}}),
        ("held", "suspended", shared),
        ("new", "pending", None),
        ("gone", "deleting", shared),
    ]
    entries = served(rows)
    assert entries == [
        Served("shared", "acme", "dev"),
        Served("shared", "acme", "prod"),
        Served("tenant:bigcorp", "bigcorp", "prod"),
    ]
    assert [e.tenant_id for e in of_pool(entries, "tenant:bigcorp")] == ["bigcorp"]
    assert of_pool(entries, EVERY) == entries


@pytest.mark.parametrize("bad", ["", "tenant:", "tenant:A", "tenant:a.b", "pool", "tenant:a*"])
def test_a_pool_name_is_shared_or_a_tenants(bad: str) -> None:
    assert check_pool("shared") == "shared"
    assert check_pool("tenant:acme") == "tenant:acme"
    with pytest.raises(InvalidInput):
        check_pool(bad)

"""The per-process set of revoked tokens: one query per interval, never one per request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenantry.tenancy.access.repository import Revocation
from tenantry.tenancy.access.revocations import RevokedTokens
from tenantry.tenancy.registry.errors import ControlDatabaseUnavailable

NOW = datetime(2031, 5, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


class Table:
    """The control database's revocations, as the repository answers them."""

    def __init__(self) -> None:
        self.rows: list[Revocation] = []
        self.reads: list[int] = []
        self.down = False

    def revoke(self, jti: str, expires: datetime = LATER) -> None:
        self.rows.append(Revocation(len(self.rows) + 1, jti, expires))

    async def after(self, seq: int) -> list[Revocation]:
        self.reads.append(seq)
        if self.down:
            raise ControlDatabaseUnavailable("the control database is unreachable")
        return [row for row in self.rows if row.seq > seq]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table() -> Table:
    return Table()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_one_query_per_interval_whatever_the_requests(table: Table, clock: Clock) -> None:
    revoked = RevokedTokens(table.after, interval=0.5, clock=clock)
    for _ in range(1000):
        assert not await revoked.revoked("a" * 32, now=NOW)
    assert table.reads == [0]
    table.revoke("a" * 32)
    clock.now += 0.49
    assert not await revoked.revoked("a" * 32, now=NOW)  # not yet due: the set as it was
    clock.now += 0.01
    assert await revoked.revoked("a" * 32, now=NOW)
    assert table.reads == [0, 0]
    table.revoke("b" * 32)
    clock.now += 0.5
    assert await revoked.revoked("b" * 32, now=NOW)
    assert table.reads == [0, 0, 1]  # only what is new since the last number seen


async def test_a_revocation_made_here_holds_at_once(table: Table, clock: Clock) -> None:
    revoked = RevokedTokens(table.after, clock=clock)
    assert not await revoked.revoked("c" * 32, now=NOW)
    revoked.add("c" * 32, LATER)
    assert await revoked.revoked("c" * 32, now=NOW) and table.reads == [0]


async def test_an_unreadable_table_fails_closed_after_the_bound(table: Table, clock: Clock) -> None:
    revoked = RevokedTokens(table.after, interval=0.5, stale_after=1.0, clock=clock)
    await revoked.revoked("a" * 32, now=NOW)
    table.down = True
    clock.now += 0.5
    assert not await revoked.revoked("a" * 32, now=NOW)  # within the bound: the last set
    for _ in range(100):  # a failed read is not retried by every request
        await revoked.revoked("a" * 32, now=NOW)
    assert len(table.reads) == 2
    clock.now += 0.6
    with pytest.raises(ControlDatabaseUnavailable):
        await revoked.revoked("a" * 32, now=NOW)
    for _ in range(100):
        with pytest.raises(ControlDatabaseUnavailable):
            await revoked.revoked("a" * 32, now=NOW)
    assert len(table.reads) == 3
    table.down = False
    table.revoke("a" * 32)
    clock.now += 0.5
    assert await revoked.revoked("a" * 32, now=NOW)


async def test_a_process_that_never_read_the_table_refuses(table: Table, clock: Clock) -> None:
    table.down = True
    with pytest.raises(ControlDatabaseUnavailable):
        await RevokedTokens(table.after, clock=clock).revoked("a" * 32, now=NOW)


async def test_expired_revocations_are_forgotten(table: Table, clock: Clock) -> None:
    table.revoke("a" * 32, expires=NOW - timedelta(hours=2))
    table.revoke("b" * 32, expires=NOW + timedelta(hours=2))
    revoked = RevokedTokens(table.after, clock=clock)
    assert await revoked.revoked("b" * 32, now=NOW)
    assert set(revoked._expiry) == {"b" * 32}


async def test_a_slow_read_that_answers_is_not_a_failure(table: Table, clock: Clock) -> None:
    async def slow(seq: int) -> list[Revocation]:
        clock.now += 2.0  # a loaded machine: the read takes longer than the bound
        return await table.after(seq)

    revoked = RevokedTokens(slow, interval=0.5, stale_after=1.0, clock=clock)
    table.revoke("a" * 32)
    assert await revoked.revoked("a" * 32, now=NOW)
    assert not await revoked.revoked("b" * 32, now=NOW)

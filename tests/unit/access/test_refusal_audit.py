"""Refusal audit in windows: the first at once, the rest as one appended summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from tenantry.tenancy.access.refusals import SUMMARY_ACTION, RefusalAudit
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Log:
    def __init__(self) -> None:
        self.written: list[AuditEntry] = []
        self.fail = False

    async def __call__(self, entries: Sequence[AuditEntry]) -> None:
        if self.fail:
            raise OSError("the database is away")
        self.written.extend(entries)


def entry(n: int, tenant: str = "acme") -> AuditEntry:
    details = {"reason": "auth.tenant_mismatch", "credential": "jti-1"}
    return AuditEntry("m", "GET /x", tenant, Outcome.DENIED, f"c-{n}", details)


def audit() -> tuple[RefusalAudit, Log, Clock]:
    log, clock = Log(), Clock()
    return RefusalAudit(log, clock=clock, window=timedelta(seconds=60)), log, clock


async def test_the_first_is_written_at_once_and_the_rest_summed_when_the_window_closes() -> None:
    refusals, log, clock = audit()
    for n in range(300):
        await refusals.refused(("jti-1", "acme"), entry(n))
    assert log.written == [entry(0)]
    assert await refusals.flush_due() == 0  # still open
    clock.now += timedelta(seconds=60)
    assert await refusals.flush_due() == 1
    _, summary = log.written
    assert summary.action == SUMMARY_ACTION and summary.tenant_id == "acme"
    assert summary.details["count"] == 299 and summary.correlation_id == "c-299"
    assert summary.details["window_start"] == T0.isoformat()
    assert summary.details["window_end"] == (T0 + timedelta(seconds=60)).isoformat()
    assert summary.details["first_action"] == "GET /x"
    assert len(refusals) == 0


async def test_each_window_is_audited_and_summed_on_its_own() -> None:
    refusals, log, clock = audit()
    for _ in range(2):
        for n in range(3):
            await refusals.refused(("jti-1", "acme"), entry(n))
        clock.now += timedelta(seconds=61)  # the next refusal closes the window
    await refusals.flush_due()
    assert [e.action for e in log.written] == ["GET /x", SUMMARY_ACTION] * 2
    assert [e.details.get("count") for e in log.written] == [None, 2, None, 2]


async def test_keys_are_apart_and_a_lone_refusal_has_no_summary() -> None:
    refusals, log, clock = audit()
    await refusals.refused(("jti-1", "acme"), entry(0))
    await refusals.refused(("jti-1", "globex"), entry(1, "globex"))
    await refusals.refused(("jti-1", "globex"), entry(2, "globex"))
    clock.now += timedelta(seconds=60)
    await refusals.flush_due()
    assert [(e.tenant_id, e.action) for e in log.written] == [
        ("acme", "GET /x"),
        ("globex", "GET /x"),
        ("globex", SUMMARY_ACTION),
    ]


async def test_flush_closes_every_window_now() -> None:
    refusals, log, clock = audit()
    for n in range(5):
        await refusals.refused(("jti-1", "acme"), entry(n))
    clock.now += timedelta(seconds=10)
    assert await refusals.flush() == 1
    assert log.written[-1].details["count"] == 4
    assert log.written[-1].details["window_end"] == clock.now.isoformat()
    assert len(refusals) == 0


async def test_a_summary_that_could_not_be_written_is_kept_for_the_next_flush() -> None:
    refusals, log, clock = audit()
    for n in range(3):
        await refusals.refused(("jti-1", "acme"), entry(n))
    clock.now += timedelta(seconds=60)
    log.fail = True
    with pytest.raises(OSError):
        await refusals.flush_due()
    log.fail = False
    assert await refusals.flush() == 1
    assert log.written[-1].details["count"] == 2

"""The sequencer: concurrent sequencers never fork a chain, and records committed out of id
order are each linked exactly once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.audit import log, repository
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome
from tenantry.tenancy.audit.sequencer import Cadence, Sequencer
from tenantry.tenancy.registry.database import session_factory
from tests.integration.audit.conftest import Audit


def _sequencer(audit: Audit, batch: int) -> Sequencer:
    keys = audit.services.audit.keys
    assert keys is not None
    sessions = session_factory(audit.services.engine)
    return Sequencer(sessions, keys, clock=audit.clock, cadence=Cadence(batch=batch))


def _linked_once(audit: Audit) -> None:
    [(records,)] = audit.sql("SELECT count(*) FROM audit_records")
    [(links, distinct)] = audit.sql("SELECT count(*), count(DISTINCT record_id) FROM audit_chain")
    assert records == links == distinct


async def test_concurrent_sequencers_never_fork_a_chain(audit: Audit) -> None:
    for tenant in ("acme", "globex", None):
        await audit.append(tenant, 40)
    linked = await asyncio.gather(*(_sequencer(audit, batch=7).run() for _ in range(4)))
    assert sum(linked) == 120
    _linked_once(audit)
    verdict = await audit.service.verify()
    assert verdict.intact, verdict.breaches
    assert verdict.verified == 120


async def test_sequencers_racing_writers_link_everything_once(audit: Audit) -> None:
    async def write() -> None:
        for _ in range(10):
            await audit.append("acme", 3)

    async def sequence() -> None:
        for _ in range(10):
            await _sequencer(audit, batch=5).run()
            await asyncio.sleep(0)

    await asyncio.gather(write(), sequence(), sequence())
    assert (await audit.service.verify()).intact
    _linked_once(audit)


@pytest.mark.postgres
async def test_a_record_committed_after_a_newer_id_is_linked_once(audit: Audit) -> None:
    if not audit.url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: ids commit in order")
    sessions = session_factory(audit.services.engine)
    keys = audit.services.audit.keys
    assert keys is not None
    log.carry(sessions, keys)
    entry = AuditEntry("alice", "slow.write", "acme", Outcome.SUCCEEDED)
    async with sessions() as slow:
        await slow.begin()
        await log.append(slow, [entry], now=audit.clock())  # takes the lower id, commits last
        await audit.append("acme", 2)  # newer ids, committed first
        assert await audit.service.sequencer.run() == 2
        await _commit(slow)
    assert await audit.service.sequencer.run() == 1
    _linked_once(audit)
    [(late,)] = audit.sql("SELECT min(id) FROM audit_records")
    [(seq,)] = audit.sql("SELECT seq FROM audit_chain WHERE record_id = ?", (late,))
    assert seq == 3  # linked in commit order, after the newer ids
    assert (await audit.service.verify()).intact


async def _commit(session: AsyncSession) -> None:
    await session.commit()


async def test_the_worker_links_records_and_signs_their_heads(audit: Audit) -> None:
    from tenantry.worker.loop import default_tasks  # noqa: PLC0415 - the worker, under test

    await audit.append("acme", 3)
    [task] = [t for t in default_tasks(audit.services) if t.name == "audit"]
    await task.run()
    _linked_once(audit)
    [(signed,)] = audit.sql("SELECT max(seq) FROM audit_checkpoints WHERE chain = 'acme'")
    assert signed == 3


async def test_records_not_chained_yet_are_counted_per_chain(audit: Audit) -> None:
    await audit.append("acme", 3)
    await audit.append(None, 2)
    async with session_factory(audit.services.engine)() as session:
        assert await repository.pending_by_tenant(session) == {"acme": 3, None: 2}
    await audit.service.sequencer.run()
    async with session_factory(audit.services.engine)() as session:
        assert await repository.pending_by_tenant(session) == {}

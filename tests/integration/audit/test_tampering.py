"""Each tampering case is detected, naming the first bad record; an untouched log verifies."""

from __future__ import annotations

import io

import pytest

from tenantry.tenancy.audit.canonical import PLATFORM_CHAIN
from tenantry.tenancy.audit.schemas import Breach
from tenantry.tenancy.audit.service import AuditService
from tenantry.tenancy.audit.splitting import Split
from tests.integration.audit.conftest import Audit


async def _only_breach(audit: Audit, chain: str = "acme") -> Breach:
    verdict = await audit.service.verify()
    assert not verdict.intact
    [breach] = verdict.breaches
    assert breach.chain == chain
    return breach


def _record_at(audit: Audit, seq: int, chain: str = "acme") -> int:
    [(record_id,)] = audit.sql(
        "SELECT record_id FROM audit_chain WHERE chain = ? AND seq = ?", (chain, seq)
    )
    return int(record_id)


async def test_an_untouched_log_verifies_chain_by_chain(audit: Audit) -> None:
    await audit.append("acme", 5)
    await audit.append("globex", 3)
    await audit.append(None, 2)
    verdict = await audit.service.verify()
    assert verdict.intact
    assert {r.chain: r.verified for r in verdict.chains} == {
        "acme": 5,
        "globex": 3,
        PLATFORM_CHAIN: 2,
    }
    assert (await audit.service.verify(chain="globex")).verified == 3


async def test_an_edited_field_names_its_record(audit: Audit) -> None:
    await audit.append("acme", 6)
    await audit.service.verify()
    edited = _record_at(audit, 4)
    audit.sql("UPDATE audit_records SET outcome = 'denied' WHERE id = ?", (edited,))
    breach = await _only_breach(audit)
    assert (breach.seq, breach.record_id) == (4, edited)
    assert "edited" in breach.reason


async def test_an_edited_detail_names_its_record(audit: Audit) -> None:
    await audit.append("acme", 3, details={"role": "viewer"})
    await audit.service.verify()
    edited = _record_at(audit, 2)
    audit.sql(
        'UPDATE audit_records SET details = \'{"role": "tenant-admin"}\' WHERE id = ?', (edited,)
    )
    assert (await _only_breach(audit)).record_id == edited


async def test_a_deleted_record_is_named(audit: Audit) -> None:
    await audit.append("acme", 5)
    await audit.service.verify()
    deleted = _record_at(audit, 3)
    audit.sql("DELETE FROM audit_records WHERE id = ?", (deleted,))
    breach = await _only_breach(audit)
    assert (breach.seq, breach.record_id) == (3, deleted)
    assert "deleted" in breach.reason


async def test_a_deleted_record_and_its_link_leave_a_gap(audit: Audit) -> None:
    await audit.append("acme", 5)
    await audit.service.verify()
    deleted, after = _record_at(audit, 3), _record_at(audit, 4)
    audit.sql("DELETE FROM audit_chain WHERE record_id = ?", (deleted,))
    audit.sql("DELETE FROM audit_records WHERE id = ?", (deleted,))
    breach = await _only_breach(audit)
    assert (breach.seq, breach.record_id) == (4, after)
    assert "seq 3 is missing" in breach.reason


async def test_a_backdated_inserted_record_is_named(audit: Audit) -> None:
    await audit.append("acme", 4)
    await audit.service.verify()
    audit.sql(
        "INSERT INTO audit_records (ts, actor, action, tenant_id, outcome, details)"
        " VALUES (?, 'mallory', 'token.issue', 'acme', 'succeeded', '{}')",
        ("2026-11-01 00:00:00.000000+00:00",),
    )
    [(inserted,)] = audit.sql("SELECT max(id) FROM audit_records")
    breach = await _only_breach(audit)
    assert (breach.seq, breach.record_id) == (5, inserted)
    assert "backdated" in breach.reason


async def test_a_link_inserted_into_the_chain_is_named(audit: Audit) -> None:
    await audit.append("acme", 3)
    await audit.service.verify()
    audit.sql("DELETE FROM audit_chain WHERE chain = 'acme' AND seq = 3")
    forged = _copy_of_record(audit, _record_at(audit, 2))
    audit.sql(
        "INSERT INTO audit_chain (chain, seq, record_id, prev_hash, hash)"
        " SELECT chain, 3, ?, hash, hash FROM audit_chain WHERE chain = 'acme' AND seq = 2",
        (forged,),
    )
    breach = await _only_breach(audit)
    assert (breach.seq, breach.record_id) == (3, forged)


def _copy_of_record(audit: Audit, record_id: int) -> int:
    audit.sql(
        "INSERT INTO audit_records (ts, actor, action, tenant_id, outcome, details)"
        " SELECT ts, 'mallory', action, tenant_id, outcome, details FROM audit_records"
        " WHERE id = ?",
        (record_id,),
    )
    [(copied,)] = audit.sql("SELECT max(id) FROM audit_records")
    return int(copied)


async def test_reordered_records_are_named(audit: Audit) -> None:
    await audit.append("acme", 5)
    await audit.service.verify()
    second, third = _record_at(audit, 2), _record_at(audit, 3)
    audit.sql("UPDATE audit_chain SET record_id = -1 WHERE record_id = ?", (second,))
    audit.sql("UPDATE audit_chain SET record_id = ? WHERE record_id = ?", (second, third))
    audit.sql("UPDATE audit_chain SET record_id = ? WHERE record_id = -1", (third,))
    breach = await _only_breach(audit)
    assert (breach.seq, breach.record_id) == (2, third)


async def test_a_truncated_tail_is_found_against_the_last_checkpoint(audit: Audit) -> None:
    await audit.append("acme", 8)
    await audit.service.sequencer.run()
    await audit.service.sequencer.checkpoint_all()  # signs seq 8
    gone = [_record_at(audit, seq) for seq in (6, 7, 8)]
    audit.sql("DELETE FROM audit_chain WHERE chain = 'acme' AND seq >= 6")
    for record in gone:
        audit.sql("DELETE FROM audit_records WHERE id = ?", (record,))
    breach = await _only_breach(audit)
    assert breach.seq == 6
    assert "truncated" in breach.reason


async def test_a_forged_checkpoint_is_refused(audit: Audit) -> None:
    await audit.append("acme", 3)
    await audit.service.export(io.StringIO())  # signs the head
    audit.sql("UPDATE audit_checkpoints SET seq = 9 WHERE chain = 'acme'")
    breach = await _only_breach(audit)
    assert "signature" in breach.reason


async def test_a_tampered_chain_leaves_the_others_intact(audit: Audit) -> None:
    await audit.append("acme", 3)
    await audit.append("globex", 3)
    await audit.service.verify()
    audit.sql("UPDATE audit_records SET actor = 'bob' WHERE id = ?", (_record_at(audit, 1),))
    verdict = await audit.service.verify()
    assert [r.chain for r in verdict.chains if r.breach is None] == ["globex"]


async def test_ranges_vouch_for_an_untouched_log_without_reading_it_again(
    audit: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    await audit.append("acme", 7)
    await audit.append(None, 3)
    if audit.service.split.threshold > 0:
        pytest.skip("the ranges' own test")

    async def careful(*_: object) -> None:
        raise AssertionError("an intact chain was read again link by link")

    monkeypatch.setattr(AuditService, "_verify_chain", careful)
    verdict = await audit.service.verify()
    assert verdict.intact
    assert {r.chain: (r.verified, r.head) for r in verdict.chains} == {
        "acme": (7, 7),
        PLATFORM_CHAIN: (3, 3),
    }


@pytest.mark.parametrize("processes", [2])
async def test_worker_processes_verify_and_find_an_edit(audit: Audit, processes: int) -> None:
    """The real pool: spawned workers read the database themselves."""
    if audit.service.split.threshold > 0:
        pytest.skip("once is enough")
    await audit.append("acme", 9)
    await audit.append("globex", 4)
    audit.service.split = Split(processes=processes, threshold=0, least=2)
    progress: list[tuple[int, int]] = []
    verdict = await audit.service.verify(
        progress=lambda done, total: progress.append((done, total))
    )
    assert verdict.intact and verdict.verified == 13
    assert progress[-1] == (13, 13)
    edited = _record_at(audit, 5)
    audit.sql("UPDATE audit_records SET actor = 'mallory' WHERE id = ?", (edited,))
    breach = await _only_breach(audit)
    assert (breach.seq, breach.record_id) == (5, edited)

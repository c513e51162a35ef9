"""Export verified offline, pruning that leaves a verifiable remainder, pseudonymised users."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from tenantry.backends.keys.keyring import Keyring
from tenantry.tenancy.audit import splitting
from tenantry.tenancy.audit.export import ExportInvalid
from tenantry.tenancy.audit.service import Query
from tenantry.tenancy.audit.splitting import Split
from tests.integration.audit.conftest import START, Audit


async def _exported(audit: Audit, chain: str | None = None) -> list[str]:
    out = io.StringIO()
    await audit.service.export(out, chain=chain)
    return out.getvalue().splitlines()


async def test_an_export_verifies_offline(audit: Audit) -> None:
    await audit.append("acme", 5)
    await audit.append(None, 2)
    lines = await _exported(audit)
    kinds = [json.loads(line)["type"] for line in lines]
    assert kinds[0] == "export" and "key" in kinds and "checkpoint" in kinds
    verdict = audit.verify_export(lines)
    assert verdict.intact
    assert verdict.verified == 7


async def test_an_edited_export_names_the_record(audit: Audit) -> None:
    await audit.append("acme", 4)
    lines = await _exported(audit, "acme")
    index, entry = next(
        (i, json.loads(line))
        for i, line in enumerate(lines)
        if json.loads(line)["type"] == "link" and json.loads(line)["seq"] == 2
    )
    entry["record"][2] = "mallory"
    lines[index] = json.dumps(entry)
    [breach] = audit.verify_export(lines).breaches
    assert (breach.seq, breach.record_id) == (2, entry["record_id"])


async def test_a_truncated_export_is_found(audit: Audit) -> None:
    await audit.append("acme", 4)
    lines = await _exported(audit, "acme")
    [breach] = audit.verify_export(lines[:-1]).breaches
    assert "truncated" in breach.reason


def test_a_malformed_export_is_refused(audit: Audit) -> None:
    with pytest.raises(ExportInvalid):
        audit.verify_export(['{"type": "link", "seq": 1}'])
    with pytest.raises(ExportInvalid):
        audit.verify_export(["not json"])


async def test_pruning_keeps_the_remainder_verifiable(audit: Audit) -> None:
    await audit.append("acme", 5)  # old
    await audit.append(None, 2)
    audit.clock.tick(86_400)
    await audit.append("acme", 3)  # recent
    removed = await audit.service.prune(START + timedelta(hours=1))
    assert removed == {"acme": 5, "@platform": 1}  # a chain's head is always kept
    [(left,)] = audit.sql("SELECT count(*) FROM audit_records")
    assert left == 5  # with the prune's own record, on the platform chain
    [(action,)] = audit.sql("SELECT action FROM audit_records ORDER BY id DESC LIMIT 1")
    assert action == "audit.prune"
    verdict = await audit.service.verify()
    assert verdict.intact, verdict.breaches
    assert audit.verify_export(await _exported(audit)).intact
    await audit.append("acme", 1)
    assert (await audit.service.verify()).intact
    # the old platform record kept as its chain's head is not the head any more: the first
    # prune's own record followed it
    assert await audit.service.prune(START + timedelta(hours=1)) == {"@platform": 1}
    assert (await audit.service.verify()).intact


async def test_pruning_then_deleting_the_next_record_is_found(audit: Audit) -> None:
    await audit.append("acme", 4)
    audit.clock.tick(86_400)
    await audit.append("acme", 2)
    await audit.service.prune(START + timedelta(hours=1))
    audit.sql("DELETE FROM audit_chain WHERE chain = 'acme' AND seq = 5")
    [breach] = (await audit.service.verify()).breaches
    assert breach.seq == 5


async def test_user_ids_are_pseudonymised_and_unlinkable_once_shredded(audit: Audit) -> None:
    keyring = Keyring(audit.services.settings.data_dir.resolve())
    keyring.create("acme")
    await audit.append("acme", 1, user_id="user-42@example.com")
    await audit.append(None, 1, user_id="user-42@example.com")
    stored = [ref for (ref,) in audit.sql("SELECT user_ref FROM audit_records ORDER BY id")]
    assert stored[0].startswith("t:") and stored[1].startswith("p:")
    assert "user-42" not in repr(audit.sql("SELECT * FROM audit_records"))  # never stored raw
    resolved = await audit.service.records(Query(chain="acme", users=["user-42@example.com"]))
    assert [item.user for item in resolved] == ["user-42@example.com"]
    keyring.destroy("acme")  # crypto-shredding
    shredded = await audit.service.records(Query(chain="acme", users=["user-42@example.com"]))
    assert [item.user for item in shredded] == [stored[0]]  # kept, no longer resolvable
    assert (await audit.service.verify()).intact  # no record rewritten


async def test_listing_filters_and_pages(audit: Audit) -> None:
    await audit.append("acme", 3)
    await audit.append("globex", 2)
    everything = await audit.service.records(Query())
    assert len(everything) == 5 and everything[0].id > everything[-1].id
    acme = await audit.service.records(Query(chain="acme", limit=2))
    assert [i.tenant_id for i in acme] == ["acme", "acme"]
    rest = await audit.service.records(Query(chain="acme", before_id=acme[-1].id))
    assert len(rest) == 1 and rest[0].seq == 1
    only = await audit.service.records(Query(action="test.write.1"))
    assert {i.tenant_id for i in only} == {"acme", "globex"}
    assert await audit.service.records(Query(since=audit.clock.now)) == []


async def test_ranges_vouch_for_an_untouched_export_without_reading_it_again(
    audit: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    await audit.append("acme", 6)
    await audit.append("globex", 3)
    if audit.service.split.threshold > 0:
        pytest.skip("the ranges' own test")

    def careful(*_: object) -> None:
        raise AssertionError("an intact export was read again line by line")

    lines = await _exported(audit)
    with monkeypatch.context() as patched:
        patched.setattr(splitting, "_careful", careful)
        verdict = audit.verify_export(lines)
    assert verdict.intact and verdict.verified == 9
    audit.service.split = Split(processes=2, threshold=0, least=2)  # the real pool
    assert audit.verify_export(lines).verified == 9
    edited = [
        line.replace('"alice"', '"mallory"', 1) if '"seq": 5,' in line else line for line in lines
    ]
    [breach] = audit.verify_export(edited).breaches
    assert (breach.chain, breach.seq) == ("acme", 5)

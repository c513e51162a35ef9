"""Revoking tokens by id, on SQLite and PostgreSQL: confined to a tenant, audited, pruned, and
in force in every process within a second."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tenantry.bootstrap import services
from tenantry.core.settings import Settings
from tenantry.tenancy.access.errors import InvalidTokenId, RevokedToken, TokenNotFound
from tenantry.tenancy.access.models import IssuedTokenRow, TokenRevocationRow
from tenantry.tenancy.access.revocations import INTERVAL, STALE_AFTER
from tenantry.tenancy.access.schemas import Grant, PrincipalKind, Role
from tenantry.tenancy.registry import database
from tests.integration.access.support import Kit, bundle


async def test_a_revocation_in_one_process_refuses_the_token_in_another(
    settings: Settings,
) -> None:
    async with services(settings) as one, services(settings) as two:
        await one.registry.apply(bundle("acme", "globex"))
        issued = await one.access.issue_token("ann", tenant="acme", role=Role.VIEWER)
        kept = await one.access.issue_token("bob", tenant="acme", role=Role.VIEWER)
        for token in (issued.token, kept.token):  # verified, so in the second one's memo
            await two.access.authenticate(token)
        reads = _count_reads(two.access)
        await one.access.revoke_token(issued.jti, tenant="acme")
        revoked_at = time.monotonic()
        with pytest.raises(RevokedToken):
            await one.access.authenticate(issued.token)  # where it was revoked: at once
        while True:  # the other process: poll until refused, never past the promised bound
            try:
                await two.access.authenticate(issued.token)
            except RevokedToken:
                break
            assert time.monotonic() - revoked_at < STALE_AFTER, "not refused within a second"
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - revoked_at
        assert (await two.access.authenticate(kept.token)).id == "bob"
        # One read per interval, not one per request (about 100 requests were made meanwhile).
        assert reads[0] <= elapsed / INTERVAL + 2


def _count_reads(access: object) -> list[int]:
    revoked = access._revoked  # type: ignore[attr-defined]
    fetch, count = revoked._fetch, [0]

    async def counted(seq: int) -> object:
        count[0] += 1
        return await fetch(seq)

    revoked._fetch = counted
    return count


async def test_a_tenant_revokes_only_its_own_tokens(kit: Kit) -> None:
    acme = await kit.access.issue_token("ann", tenant="acme", role=Role.VIEWER)
    for tenant in ("globex", None):
        with pytest.raises(TokenNotFound):
            await kit.access.revoke_token("0" * 32, tenant=tenant)
    with pytest.raises(TokenNotFound) as refused:
        await kit.access.revoke_token(acme.jti, tenant="globex")  # like a missing one
    assert refused.value.message == f"no token {acme.jti!r} granting tenant 'globex'"
    await kit.access.authenticate(acme.token)
    for bad in ("0" * 31, "A" * 32, "../" + "0" * 29, acme.token):
        with pytest.raises(InvalidTokenId):
            await kit.access.revoke_token(bad, tenant="acme")
    await kit.access.revoke_token(acme.jti, tenant="acme", actor="root", correlation_id="c-1")
    await kit.access.revoke_token(acme.jti, tenant="acme", actor="root")  # again: nothing new
    with pytest.raises(RevokedToken):
        await kit.access.authenticate(acme.token)
    records = [r for r in await kit.access.audit_records() if r.action == "token.revoke"]
    assert [(r.actor, r.tenant, r.details, r.correlation_id) for r in records] == [
        ("root", "acme", {"jti": acme.jti}, "c-1")
    ]


async def test_the_operator_revokes_any_token(kit: Kit) -> None:
    root = await kit.access.issue_token("root", kind=PrincipalKind.PLATFORM_ADMIN)
    both = await kit.access.issue_grants(
        "ann", [Grant("acme", Role.VIEWER), Grant("globex", Role.VIEWER)]
    )
    with pytest.raises(TokenNotFound):
        await kit.access.revoke_token(root.jti, tenant="acme")
    await kit.access.revoke_token(root.jti)
    await kit.access.revoke_token(both.jti, tenant="globex")
    for token in (root.token, both.token):
        with pytest.raises(RevokedToken):
            await kit.access.authenticate(token)
    records = [r for r in await kit.access.audit_records() if r.action == "token.revoke"]
    assert sorted((r.tenant or "", r.details["jti"]) for r in records) == sorted(
        [("", root.jti), ("acme", both.jti), ("globex", both.jti)]
    )


async def test_revocations_are_pruned_once_the_token_has_expired(kit: Kit) -> None:
    short = await kit.access.issue_token(
        "ann", tenant="acme", role=Role.VIEWER, ttl=timedelta(minutes=1)
    )
    await kit.access.revoke_token(short.jti)
    assert await _rows(kit) == (1, 1)
    kit.clock.advance(timedelta(minutes=1))  # expired, but still within the leeway
    other = await kit.access.issue_token("bob", tenant="acme", role=Role.VIEWER)
    assert await _rows(kit) == (1, 2)
    with pytest.raises(RevokedToken):
        await kit.access.authenticate(short.token)
    kit.clock.advance(timedelta(minutes=2))
    await kit.access.revoke_token(other.jti)
    assert await _rows(kit) == (1, 1)  # the expired token's rows are gone, the other's kept


async def _rows(kit: Kit) -> tuple[int, int]:
    async with database.session_factory(kit.services.engine)() as session:
        revoked = await session.scalar(select(func.count()).select_from(TokenRevocationRow))
        issued = await session.scalar(select(func.count()).select_from(IssuedTokenRow))
    return int(revoked or 0), int(issued or 0)

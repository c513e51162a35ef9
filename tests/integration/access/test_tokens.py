"""Issuing and authenticating tokens against the registry, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tenantry.backends.keys.signing import SigningKeyring
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.tenancy.access.errors import ExpiredToken, InvalidToken, MissingToken
from tenantry.tenancy.access.models import AuditRecordRow
from tenantry.tenancy.access.schemas import Grant, PrincipalKind, Role
from tenantry.tenancy.access.service import AccessService
from tests.integration.access.support import ADMIN_TOKEN, Kit, access_for


async def test_an_issued_token_authenticates_to_its_grant(kit: Kit) -> None:
    issued = await kit.access.issue_token(
        "alice@example.com", tenant="acme", team="support", role="team-member"
    )
    assert issued.expires_at - issued.issued_at == timedelta(hours=1)
    assert issued.kid == kit.keys.active().kid
    principal = await kit.access.authenticate(issued.token)
    assert principal.id == "alice@example.com" and principal.kind is PrincipalKind.USER
    assert principal.grants == (Grant("acme", Role.TEAM_MEMBER, "support"),)
    assert principal.credential_id == issued.jti
    [record] = await kit.access.audit_records(tenant="acme")
    assert (record.action, record.outcome, record.actor) == ("token.issue", "succeeded", "operator")
    assert record.details["jti"] == issued.jti and issued.token not in str(record.details)
    [stored] = await kit.stored_audit("token.issue")
    assert (stored.target, stored.team_id) == (issued.jti, "support")


async def test_a_pending_tenant_may_be_issued_a_token(kit: Kit) -> None:
    await kit.set_tenant("acme", lifecycle_state="pending")
    await kit.access.issue_token("alice", tenant="acme", role=Role.VIEWER)


async def test_platform_admin_tokens_and_the_admin_token(kit: Kit) -> None:
    issued = await kit.access.issue_token("root", kind=PrincipalKind.PLATFORM_ADMIN)
    assert issued.grants == []
    principal = await kit.access.authenticate(issued.token)
    assert principal.kind is PrincipalKind.PLATFORM_ADMIN and principal.grants == ()
    legacy = await kit.access.authenticate(ADMIN_TOKEN)
    assert legacy.kind is PrincipalKind.PLATFORM_ADMIN and legacy.id == "admin-token"
    for wrong in (ADMIN_TOKEN + "x", ADMIN_TOKEN[:-1], "Admin-secret"):
        with pytest.raises(InvalidToken):
            await kit.access.authenticate(wrong)
    for missing in ("", None):
        with pytest.raises(MissingToken):
            await kit.access.authenticate(missing)


async def test_without_an_admin_token_setting_the_string_is_nothing(kit: Kit) -> None:
    access = AccessService(
        kit.access._records._sessions,
        kit.keys,
        clock=kit.clock,
    )
    with pytest.raises(InvalidToken):
        await access.authenticate(ADMIN_TOKEN)


@pytest.mark.parametrize(
    ("options", "kind", "code"),
    [
        ({"tenant": "initech", "role": "viewer"}, ErrorKind.NOT_FOUND, "tenant.not_found"),
        (
            {"tenant": "acme", "team": "ops", "role": "viewer"},
            ErrorKind.NOT_FOUND,
            "team.not_found",
        ),
        ({"tenant": "acme", "role": "owner"}, ErrorKind.INVALID, "grant.invalid"),
        ({"tenant": "acme", "role": "platform-admin"}, ErrorKind.INVALID, "grant.invalid"),
        (
            {"tenant": "acme", "team": "support", "role": "tenant-admin"},
            ErrorKind.INVALID,
            "grant.invalid",
        ),
        ({"tenant": "acme"}, ErrorKind.INVALID, "grant.invalid"),
        ({"role": "viewer"}, ErrorKind.INVALID, "grant.invalid"),
        ({"tenant": "ACME", "role": "viewer"}, ErrorKind.INVALID, "id.invalid"),
        ({"tenant": "acme", "team": "../x", "role": "viewer"}, ErrorKind.INVALID, "id.invalid"),
        (
            {"tenant": "acme", "role": "viewer", "ttl": timedelta(0)},
            ErrorKind.INVALID,
            "token.ttl_invalid",
        ),
        (
            {"tenant": "acme", "role": "viewer", "ttl": timedelta(days=31)},
            ErrorKind.INVALID,
            "token.ttl_invalid",
        ),
        (
            {"tenant": "acme", "role": "viewer", "principal": "a b"},
            ErrorKind.INVALID,
            "principal.invalid",
        ),
        (
            {"tenant": "acme", "kind": PrincipalKind.PLATFORM_ADMIN},
            ErrorKind.INVALID,
            "grant.invalid",
        ),
    ],
)
async def test_bad_requests_issue_nothing(
    kit: Kit, options: dict[str, Any], kind: ErrorKind, code: str
) -> None:
    options = dict(options)  # the same dict serves both databases' runs
    principal = options.pop("principal", "alice")
    with pytest.raises(TenantryError) as refused:
        await kit.access.issue_token(principal, **options)
    assert (refused.value.kind, refused.value.code) == (kind, code)
    assert await kit.count(AuditRecordRow) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"lifecycle_state": "suspended"},
        {"lifecycle_state": "archived"},
        {"lifecycle_state": "deleted"},
        {"lifecycle_state": "deleting"},
    ],
)
async def test_tenants_that_may_not_run_get_no_tokens(kit: Kit, change: dict[str, Any]) -> None:
    values = {k: kit.clock() if v == "now" else v for k, v in change.items()}
    await kit.set_tenant("acme", **values)
    with pytest.raises(TenantryError) as refused:
        await kit.access.issue_token("alice", tenant="acme", role="viewer")
    assert refused.value.kind in {ErrorKind.LOCKED, ErrorKind.GONE}
    assert refused.value.code in {"tenant.suspended", "tenant.archived", "tenant.deleted"}
    with pytest.raises(TenantryError):  # a token on several tenants fails on any of them
        await kit.access.issue_grants(
            "alice", [Grant("globex", Role.VIEWER), Grant("acme", Role.VIEWER)]
        )
    assert await kit.count(AuditRecordRow) == 0


async def test_a_token_for_several_tenants(kit: Kit) -> None:
    grants = [Grant("acme", Role.TENANT_ADMIN), Grant("globex", Role.VIEWER, "ops")]
    issued = await kit.access.issue_grants("alice", grants, ttl=timedelta(minutes=5))
    assert (await kit.access.authenticate(issued.token)).grants == tuple(grants)
    assert sorted(r.tenant or "" for r in await kit.access.audit_records()) == ["acme", "globex"]


async def test_tokens_expire_on_the_clock(kit: Kit) -> None:
    issued = await kit.access.issue_token(
        "alice", tenant="acme", role="viewer", ttl=timedelta(minutes=10)
    )
    kit.clock.advance(timedelta(minutes=10))
    await kit.access.authenticate(issued.token)  # within the leeway
    kit.clock.advance(timedelta(seconds=30))
    with pytest.raises(ExpiredToken):
        await kit.access.authenticate(issued.token)


async def test_rotation_across_processes(kit: Kit) -> None:
    before = await kit.access.issue_token("alice", tenant="acme", role="viewer")
    other_process, _ = access_for(kit.services, kit.clock)
    new_kid = await other_process.rotate_signing_key()
    after = await kit.access.issue_token("bob", tenant="acme", role="viewer")
    assert after.kid == new_kid != before.kid
    for token in (before.token, after.token):
        await other_process.authenticate(token)
        await kit.access.authenticate(token)
    await other_process.retire_signing_key(before.kid)
    with pytest.raises(InvalidToken):
        await kit.access.authenticate(before.token)
    await kit.access.authenticate(after.token)
    actions = [r.action for r in await kit.access.audit_records()]
    assert actions[:2] == ["signing_key.retire", "token.issue"] and "signing_key.rotate" in actions


async def test_a_token_from_another_deployment_is_invalid(kit: Kit, tmp_path: Any) -> None:
    foreign = AccessService(
        kit.access._records._sessions,
        SigningKeyring(tmp_path / "elsewhere"),
        clock=kit.clock,
    )
    issued = await foreign.issue_token("mallory", tenant="acme", role="tenant-admin")
    with pytest.raises(InvalidToken):
        await kit.access.authenticate(issued.token)


async def test_a_token_carries_at_most_64_grants(kit: Kit) -> None:
    grants = [Grant("acme", Role.VIEWER, None)] * 65
    with pytest.raises(TenantryError) as refused:
        await kit.access.issue_grants("alice", grants)
    assert refused.value.code == "grant.invalid"
    assert await kit.count(AuditRecordRow) == 0

"""Resolution through the service: refused attempts and platform-admin acts are audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.tenancy.access.models import AuditRecordRow
from tenantry.tenancy.access.resolution import Selection
from tenantry.tenancy.access.schemas import Principal, PrincipalKind, Role
from tests.integration.access.support import Kit

TTL = timedelta(minutes=5)


async def _token(kit: Kit, *, tenant: str, role: str, team: str | None = None) -> Principal:
    issued = await kit.access.issue_token("alice", tenant=tenant, team=team, role=role)
    return await kit.access.authenticate(issued.token)


async def _records(kit: Kit, outcome: str) -> list[dict[str, object]]:
    return [r.model_dump() for r in await kit.access.audit_records() if r.outcome == outcome]


async def test_a_cross_tenant_attempt_is_refused_and_recorded_once(kit: Kit) -> None:
    alice = await _token(kit, tenant="acme", role="tenant-admin")
    with pytest.raises(TenantryError) as refused:
        await kit.access.resolve(
            alice, Selection(tenant="globex"), correlation_id="req-1", action="GET /x"
        )
    assert (refused.value.kind, refused.value.code) == (ErrorKind.FORBIDDEN, "auth.tenant_mismatch")
    [record] = await _records(kit, "denied")
    assert record["tenant"] == "globex" and record["actor"] == "alice"
    assert record["action"] == "GET /x" and record["correlation_id"] == "req-1"
    assert record["details"] == {
        "reason": "auth.tenant_mismatch",
        "credential": alice.credential_id,
        "selected_tenant": "globex",
        "selected_team": None,
        "granted_tenants": ["acme"],
    }
    [stored] = await kit.stored_audit("GET /x")
    assert stored.credential_id == alice.credential_id


async def test_a_cross_team_attempt_is_recorded_on_the_tenant(kit: Kit) -> None:
    alice = await _token(kit, tenant="acme", team="support", role="team-member")
    with pytest.raises(TenantryError) as refused:
        await kit.access.resolve(alice, Selection(team="sales"))
    assert refused.value.code == "auth.team_mismatch"
    [record] = await _records(kit, "denied")
    assert record["tenant"] == "acme" and record["details"]["selected_team"] == "sales"  # type: ignore[index]


async def test_allowed_and_malformed_selections_record_nothing(kit: Kit) -> None:
    alice = await _token(kit, tenant="acme", team="support", role="team-member")
    before = await kit.count(AuditRecordRow)
    resolved = await kit.access.resolve(alice, Selection(tenant="acme", env="staging"))
    assert (resolved.ctx.tenant_id, resolved.ctx.team_id, resolved.ctx.env_id) == (
        "acme",
        "support",
        "staging",
    )
    for bad in (Selection(tenant="ACME"), Selection(tenant="acme", team="a..b")):
        with pytest.raises(TenantryError) as refused:
            await kit.access.resolve(alice, bad)
        assert refused.value.code == "id.invalid"
    assert await kit.count(AuditRecordRow) == before


async def test_every_platform_admin_act_on_a_tenant_is_recorded(kit: Kit) -> None:
    admin = await kit.access.authenticate("admin-secret")
    with pytest.raises(TenantryError) as refused:
        await kit.access.resolve(admin, Selection())
    assert refused.value.code == "auth.tenant_required"
    for tenant in ("acme", "globex", "acme"):
        resolved = await kit.access.resolve(
            admin, Selection(tenant=tenant), correlation_id="c", action="GET /api/v1/sessions"
        )
        assert resolved.role is Role.PLATFORM_ADMIN
    allowed = await _records(kit, "allowed")
    assert [r["tenant"] for r in allowed] == ["acme", "globex", "acme"]
    assert {r["actor"] for r in allowed} == {"admin-token"}
    stored = await kit.stored_audit("GET /api/v1/sessions")
    assert {(r.env_id, r.team_id, r.credential_id) for r in stored} == {
        ("prod", None, admin.credential_id)
    }


async def test_tenant_admins_issue_tokens_of_their_own_tenant_only(kit: Kit) -> None:
    admin = await _token(kit, tenant="acme", role="tenant-admin")
    issued = await kit.access.issue_token_as(
        admin, "bob", tenant=None, team="support", role=Role.VIEWER, ttl=TTL
    )
    assert [(g.tenant, g.team) for g in issued.grants] == [("acme", "support")]
    refusals = [
        ({"tenant": "globex", "role": Role.VIEWER}, "auth.tenant_mismatch"),
        ({"tenant": None, "role": Role.PLATFORM_ADMIN}, "auth.platform_admin_required"),
        (
            {"tenant": None, "role": Role.VIEWER, "kind": PrincipalKind.PLATFORM_ADMIN},
            "auth.platform_admin_required",
        ),
    ]
    for options, code in refusals:
        with pytest.raises(TenantryError) as refused:
            await kit.access.issue_token_as(
                admin,
                "bob",
                team=None,
                ttl=TTL,
                **options,  # type: ignore[arg-type]
            )
        assert refused.value.code == code
    member = await _token(kit, tenant="acme", team="support", role="team-admin")
    with pytest.raises(TenantryError) as forbidden:
        await kit.access.issue_token_as(
            member, "bob", tenant="acme", team="support", role=Role.VIEWER, ttl=TTL
        )
    assert forbidden.value.code == "auth.role_forbidden"
    assert [r["tenant"] for r in await _records(kit, "denied")] == ["globex"]


async def test_platform_admins_issue_any_token(kit: Kit) -> None:
    admin = await kit.access.authenticate("admin-secret")
    issued = await kit.access.issue_token_as(
        admin, "svc", tenant="globex", team="ops", role=Role.TEAM_ADMIN, ttl=TTL
    )
    assert issued.grants[0].tenant == "globex"
    root = await kit.access.issue_token_as(
        admin,
        "root",
        tenant=None,
        team=None,
        role=Role.PLATFORM_ADMIN,
        ttl=TTL,
        kind=PrincipalKind.PLATFORM_ADMIN,
    )
    assert root.kind is PrincipalKind.PLATFORM_ADMIN
    issues = [r for r in await kit.access.audit_records() if r.action == "token.issue"]
    assert {r.actor for r in issues} == {"admin-token"}

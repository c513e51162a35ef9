"""API keys for services: created, authenticated, listed, revoked; confined to their tenant."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.tenancy.access import apikeys
from tenantry.tenancy.access.errors import InvalidToken, RevokedKey
from tenantry.tenancy.access.models import ApiKeyRow, AuditRecordRow
from tenantry.tenancy.access.schemas import Grant, PrincipalKind, Role
from tenantry.tenancy.registry import database
from tests.integration.access.support import Kit


async def test_a_key_authenticates_as_a_service_of_its_tenant(kit: Kit) -> None:
    created = await kit.access.create_api_key(
        "acme", team="support", role="team-member", name="CI bot", actor="alice"
    )
    assert created.secret.startswith(f"tnt_{created.key.id}_")
    principal = await kit.access.authenticate(created.secret)
    assert principal.kind is PrincipalKind.SERVICE
    assert principal.id == f"apikey:{created.key.id}"
    assert principal.grants == (Grant("acme", Role.TEAM_MEMBER, "support"),)
    assert principal.credential_id == created.key.id
    [record] = await kit.access.audit_records(tenant="acme")
    assert (record.action, record.actor, record.details["key_id"]) == (
        "api_key.create",
        "alice",
        created.key.id,
    )


async def test_the_secret_is_stored_only_as_a_digest(kit: Kit) -> None:
    created = await kit.access.create_api_key("acme", role="viewer", name="reader")
    async with database.session_factory(kit.services.engine)() as session:
        row = await session.scalar(select(ApiKeyRow))
    assert row is not None and row.secret_digest == apikeys.digest(created.secret)
    assert created.secret not in str([getattr(row, c.key) for c in ApiKeyRow.__table__.columns])
    listed = await kit.access.list_api_keys("acme")
    assert listed == [created.key]
    assert "secret" not in listed[0].model_dump()


async def test_wrong_secrets_are_invalid(kit: Kit) -> None:
    created = await kit.access.create_api_key("acme", role="viewer", name="reader")
    head, body = created.secret[: -len("0")], created.secret[-1]
    flipped = head + ("1" if body == "0" else "0")
    unknown = "tnt_" + "0" * 16 + "_" + created.secret.rsplit("_", 1)[1]
    for wrong in (flipped, unknown, created.secret + "0", "tnt_" + created.key.id, "tnt_"):
        with pytest.raises(InvalidToken):
            await kit.access.authenticate(wrong)


async def test_revocation_is_immediate_and_idempotent(kit: Kit) -> None:
    created = await kit.access.create_api_key("acme", role="viewer", name="reader")
    other = await kit.access.create_api_key("acme", role="viewer", name="other")
    await kit.access.revoke_api_key("acme", created.key.id, actor="alice")
    with pytest.raises(RevokedKey) as revoked:
        await kit.access.authenticate(created.secret)
    assert revoked.value.kind is ErrorKind.UNAUTHENTICATED
    await kit.access.revoke_api_key("acme", created.key.id)  # again: nothing changes
    await kit.access.authenticate(other.secret)
    assert [k.id for k in await kit.access.list_api_keys("acme")] == [other.key.id]
    listed = await kit.access.list_api_keys("acme", include_revoked=True)
    assert {k.id: k.revoked_at is not None for k in listed} == {
        created.key.id: True,
        other.key.id: False,
    }
    actions = [r.action for r in await kit.access.audit_records(tenant="acme")]
    assert actions.count("api_key.revoke") == 1


async def test_another_tenants_key_is_not_found_and_untouched(kit: Kit) -> None:
    acme = await kit.access.create_api_key("acme", role="tenant-admin", name="acme admin")
    with pytest.raises(TenantryError) as missing:
        await kit.access.revoke_api_key("globex", acme.key.id)
    assert (missing.value.kind, missing.value.code) == (ErrorKind.NOT_FOUND, "api_key.not_found")
    with pytest.raises(TenantryError) as absent:
        await kit.access.revoke_api_key("globex", "0" * 16)
    assert (absent.value.kind, absent.value.code, absent.value.message.split("'")[0]) == (
        missing.value.kind,
        missing.value.code,
        missing.value.message.split("'")[0],
    )
    assert await kit.access.list_api_keys("globex") == []
    assert (await kit.access.authenticate(acme.secret)).grants[0].tenant_id == "acme"


@pytest.mark.parametrize(
    ("tenant", "options", "kind", "code"),
    [
        ("acme", {"role": "viewer", "name": ""}, ErrorKind.INVALID, "api_key.name_invalid"),
        ("acme", {"role": "viewer", "name": "x" * 65}, ErrorKind.INVALID, "api_key.name_invalid"),
        ("acme", {"role": "root", "name": "a"}, ErrorKind.INVALID, "grant.invalid"),
        ("acme", {"role": "platform-admin", "name": "a"}, ErrorKind.INVALID, "grant.invalid"),
        (
            "acme",
            {"role": "viewer", "team": "ops", "name": "a"},
            ErrorKind.NOT_FOUND,
            "team.not_found",
        ),
        ("acme", {"role": "viewer", "team": "Ops", "name": "a"}, ErrorKind.INVALID, "id.invalid"),
        ("initech", {"role": "viewer", "name": "a"}, ErrorKind.NOT_FOUND, "tenant.not_found"),
        ("a/b", {"role": "viewer", "name": "a"}, ErrorKind.INVALID, "id.invalid"),
    ],
)
async def test_bad_key_requests_write_nothing(
    kit: Kit, tenant: str, options: dict[str, Any], kind: ErrorKind, code: str
) -> None:
    with pytest.raises(TenantryError) as refused:
        await kit.access.create_api_key(tenant, **options)
    assert (refused.value.kind, refused.value.code) == (kind, code)
    assert await kit.count(ApiKeyRow) == 0 and await kit.count(AuditRecordRow) == 0


@pytest.mark.parametrize("key_id", ["", "G" * 16, "../../x", "0" * 15, "0" * 64])
async def test_bad_key_ids_on_revoke(kit: Kit, key_id: str) -> None:
    with pytest.raises(TenantryError) as refused:
        await kit.access.revoke_api_key("acme", key_id)
    assert (refused.value.kind, refused.value.code) == (ErrorKind.INVALID, "api_key.id_invalid")


async def test_suspended_tenants_get_no_new_keys(kit: Kit) -> None:
    await kit.set_tenant("acme", lifecycle_state="suspended")
    with pytest.raises(TenantryError) as refused:
        await kit.access.create_api_key("acme", role="viewer", name="a")
    assert refused.value.code == "tenant.suspended"
    with pytest.raises(TenantryError) as unknown:
        await kit.access.list_api_keys("initech")
    assert unknown.value.code == "tenant.not_found"

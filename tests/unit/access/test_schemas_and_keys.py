"""Principal ids, grants, key names, roles and API key secrets."""

from __future__ import annotations

import pytest

from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.tenancy.access import apikeys
from tenantry.tenancy.access.permissions import Action, allows, require
from tenantry.tenancy.access.schemas import (
    Grant,
    Role,
    checked_grant,
    key_name,
    parse_role,
    principal_id,
    strongest,
)


@pytest.mark.parametrize(
    "value", ["alice", "alice@example.com", "apikey:0123abcd", "svc.billing+ci", "A" * 128]
)
def test_good_principal_ids(value: str) -> None:
    assert principal_id(value) == value


@pytest.mark.parametrize(
    "value", ["", " alice", "al ice", "-alice", "a/b", "a\nb", "ali\u00e7e", "A" * 129, None, 7]
)
def test_bad_principal_ids(value: object) -> None:
    with pytest.raises(TenantryError) as refused:
        principal_id(value)
    assert (refused.value.kind, refused.value.code) == (ErrorKind.INVALID, "principal.invalid")


@pytest.mark.parametrize("value", ["ci", "CI deploy bot", "a.b_c-d", "x" * 64])
def test_good_key_names(value: str) -> None:
    assert key_name(value) == value


@pytest.mark.parametrize("value", ["", " ci", "ci ", "x" * 65, "a\tb", "<script>", None])
def test_bad_key_names(value: object) -> None:
    with pytest.raises(TenantryError) as refused:
        key_name(value)
    assert refused.value.code == "api_key.name_invalid"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("acme", "viewer"), Grant("acme", Role.VIEWER)),
        (("acme", Role.TEAM_ADMIN, "support"), Grant("acme", Role.TEAM_ADMIN, "support")),
        (("acme", "tenant-admin"), Grant("acme", Role.TENANT_ADMIN)),
    ],
)
def test_good_grants(args: tuple[object, ...], expected: Grant) -> None:
    assert checked_grant(*args) == expected


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("acme", "owner"), "grant.invalid"),
        (("acme", "platform-admin"), "grant.invalid"),
        (("acme", "tenant-admin", "support"), "grant.invalid"),
        (("acme", None), "grant.invalid"),
        (("Acme", "viewer"), "id.invalid"),
        (("acme", "viewer", "a..b"), "id.invalid"),
        ((None, "viewer"), "id.invalid"),
    ],
)
def test_bad_grants(args: tuple[object, ...], code: str) -> None:
    with pytest.raises(TenantryError) as refused:
        checked_grant(*args)
    assert (refused.value.kind, refused.value.code) == (ErrorKind.INVALID, code)


def test_roles_and_their_order() -> None:
    assert parse_role("team-member") is Role.TEAM_MEMBER
    assert strongest([Role.VIEWER, Role.TEAM_ADMIN, Role.TEAM_MEMBER]) is Role.TEAM_ADMIN
    assert strongest([Role.TENANT_ADMIN, Role.PLATFORM_ADMIN]) is Role.PLATFORM_ADMIN


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VISITOR, {Action.CONVERSE}),
        (Role.VIEWER, {Action.READ}),
        (Role.TEAM_MEMBER, {Action.READ, Action.WRITE}),
        (Role.TEAM_ADMIN, set(Action) - {Action.ADMIN}),
        (Role.TENANT_ADMIN, set(Action)),
        (Role.PLATFORM_ADMIN, set(Action)),
    ],
)
def test_the_permission_table(role: Role, allowed: set[Action]) -> None:
    assert {a for a in Action if allows(role, a)} == allowed
    for action in set(Action) - allowed:
        with pytest.raises(TenantryError) as refused:
            require(role, action, tenant="acme")
        assert (refused.value.kind, refused.value.code) == (
            ErrorKind.FORBIDDEN,
            "auth.role_forbidden",
        )


def test_api_key_secrets() -> None:
    made = apikeys.generate()
    assert made.secret.startswith(f"tnt_{made.key_id}_") and len(made.secret) == 4 + 16 + 1 + 64
    assert apikeys.looks_like_key(made.secret)
    assert apikeys.key_id_of(made.secret) == made.key_id
    assert apikeys.matches(made.secret, made.digest)
    assert made.digest != made.secret and made.secret not in made.digest
    flipped = made.secret[:-1] + ("1" if made.secret.endswith("0") else "0")
    assert not apikeys.matches(flipped, made.digest)
    assert apikeys.generate().secret != made.secret


@pytest.mark.parametrize(
    "credential",
    ["tnt_", "tnt_abc_def", "tnt_" + "0" * 16 + "_" + "0" * 63, "tnt_" + "G" * 16 + "_" + "0" * 64],
)
def test_malformed_api_keys_have_no_id(credential: str) -> None:
    assert apikeys.key_id_of(credential) is None


@pytest.mark.parametrize("value", ["", "0123", "0123456789ABCDEF", "../etc", None, "0" * 17])
def test_bad_api_key_ids(value: object) -> None:
    with pytest.raises(TenantryError) as refused:
        apikeys.checked_key_id(value)
    assert (refused.value.kind, refused.value.code) == (ErrorKind.INVALID, "api_key.id_invalid")

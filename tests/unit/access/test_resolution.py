"""Tenant resolution: every combination of grants and headers, and the refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.core import ids
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.tenancy.access.resolution import (
    DEFAULT_ENV,
    Selection,
    agree,
    one_header,
    resolve,
)
from tenantry.tenancy.access.schemas import Grant, Principal, PrincipalKind, Role

V, M, TA, A = Role.VIEWER, Role.TEAM_MEMBER, Role.TEAM_ADMIN, Role.TENANT_ADMIN


def _principal(*grants: Grant, kind: PrincipalKind = PrincipalKind.USER) -> Principal:
    return Principal("alice", kind, grants, "j" * 32)


ACME_WIDE = _principal(Grant("acme", M))
ACME_SUPPORT = _principal(Grant("acme", M, "support"))
ACME_TWO_TEAMS = _principal(Grant("acme", M, "support"), Grant("acme", TA, "sales"))
ACME_MIXED = _principal(Grant("acme", V), Grant("acme", TA, "support"))
TWO_TENANTS = _principal(Grant("acme", A), Grant("globex", V, "ops"))
ADMIN = _principal(kind=PrincipalKind.PLATFORM_ADMIN)
NOBODY = _principal()


# (principal, (tenant, team, env) headers) -> (tenant, team, env, role) of the context
ALLOWED = [
    (ACME_WIDE, (None, None, None), ("acme", None, "prod", M)),
    (ACME_WIDE, ("acme", None, None), ("acme", None, "prod", M)),
    (ACME_WIDE, ("acme", "support", None), ("acme", "support", "prod", M)),
    (ACME_WIDE, (None, "sales", "staging"), ("acme", "sales", "staging", M)),
    (ACME_SUPPORT, (None, None, None), ("acme", "support", "prod", M)),
    (ACME_SUPPORT, ("acme", "support", None), ("acme", "support", "prod", M)),
    (ACME_TWO_TEAMS, (None, "sales", None), ("acme", "sales", "prod", TA)),
    (ACME_TWO_TEAMS, ("acme", "support", None), ("acme", "support", "prod", M)),
    (ACME_MIXED, (None, None, None), ("acme", None, "prod", V)),  # tenant-wide: the wide grant
    (ACME_MIXED, (None, "support", None), ("acme", "support", "prod", TA)),  # the stronger
    (ACME_MIXED, (None, "sales", None), ("acme", "sales", "prod", V)),
    (TWO_TENANTS, ("acme", None, None), ("acme", None, "prod", A)),
    (TWO_TENANTS, ("acme", "ops", None), ("acme", "ops", "prod", A)),
    (TWO_TENANTS, ("globex", None, None), ("globex", "ops", "prod", V)),
    (TWO_TENANTS, ("globex", "ops", "dev"), ("globex", "ops", "dev", V)),
    (ADMIN, ("acme", None, None), ("acme", None, "prod", Role.PLATFORM_ADMIN)),
    (ADMIN, ("globex", "ops", "dev"), ("globex", "ops", "dev", Role.PLATFORM_ADMIN)),
]

REFUSED = [
    (ACME_WIDE, ("globex", None, None), ErrorKind.FORBIDDEN, "auth.tenant_mismatch"),
    (ACME_SUPPORT, ("globex", "support", None), ErrorKind.FORBIDDEN, "auth.tenant_mismatch"),
    (ACME_SUPPORT, (None, "sales", None), ErrorKind.FORBIDDEN, "auth.team_mismatch"),
    (ACME_SUPPORT, ("acme", "default", None), ErrorKind.FORBIDDEN, "auth.team_mismatch"),
    (ACME_TWO_TEAMS, (None, None, None), ErrorKind.INVALID, "auth.team_required"),
    (ACME_TWO_TEAMS, (None, "ops", None), ErrorKind.FORBIDDEN, "auth.team_mismatch"),
    (TWO_TENANTS, (None, None, None), ErrorKind.INVALID, "auth.tenant_required"),
    (TWO_TENANTS, (None, "ops", None), ErrorKind.INVALID, "auth.tenant_required"),
    (TWO_TENANTS, ("globex", "sales", None), ErrorKind.FORBIDDEN, "auth.team_mismatch"),
    (TWO_TENANTS, ("initech", None, None), ErrorKind.FORBIDDEN, "auth.tenant_mismatch"),
    (ADMIN, (None, None, None), ErrorKind.INVALID, "auth.tenant_required"),
    (ADMIN, (None, "ops", None), ErrorKind.INVALID, "auth.tenant_required"),
    (NOBODY, (None, None, None), ErrorKind.FORBIDDEN, "auth.no_grant"),
    (NOBODY, ("acme", None, None), ErrorKind.FORBIDDEN, "auth.tenant_mismatch"),
    # Malformed ids are 400 whoever asks, before any grant is looked at.
    (ACME_WIDE, ("ACME", None, None), ErrorKind.INVALID, "id.invalid"),
    (ACME_WIDE, ("acme ", None, None), ErrorKind.INVALID, "id.invalid"),
    (ACME_WIDE, ("", None, None), ErrorKind.INVALID, "id.invalid"),
    (ACME_WIDE, ("global", None, None), ErrorKind.INVALID, "id.invalid"),
    (ACME_WIDE, ("acme", "Support", None), ErrorKind.INVALID, "id.invalid"),
    (ACME_WIDE, ("acme", "a_b", None), ErrorKind.INVALID, "id.invalid"),
    (ACME_WIDE, ("acme", None, "prod.eu"), ErrorKind.INVALID, "id.invalid"),
    (ACME_WIDE, ("acme", None, "x" * 17), ErrorKind.INVALID, "id.invalid"),
    (ADMIN, ("a..b", None, None), ErrorKind.INVALID, "id.invalid"),
    (ADMIN, ("acme", None, "\u0440rod"), ErrorKind.INVALID, "id.invalid"),
]


@pytest.mark.parametrize(("principal", "headers", "expected"), ALLOWED)
def test_allowed_selections(
    principal: Principal,
    headers: tuple[str | None, str | None, str | None],
    expected: tuple[str, str | None, str, Role],
) -> None:
    ctx, role = resolve(principal, Selection(*headers), correlation_id="c-1")
    assert (ctx.tenant_id, ctx.team_id, ctx.env_id, role) == expected
    assert (ctx.user_id, ctx.correlation_id) == ("alice", "c-1")


@pytest.mark.parametrize(("principal", "headers", "kind", "code"), REFUSED)
def test_refused_selections(
    principal: Principal,
    headers: tuple[str | None, str | None, str | None],
    kind: ErrorKind,
    code: str,
) -> None:
    with pytest.raises(TenantryError) as refused:
        resolve(principal, Selection(*headers))
    assert (refused.value.kind, refused.value.code) == (kind, code)
    assert refused.value.message.isascii()


def test_the_default_environment_is_prod() -> None:
    assert DEFAULT_ENV == "prod"
    assert resolve(ACME_WIDE, Selection()).ctx.env_id == "prod"


def test_a_header_sent_twice_is_ambiguous() -> None:
    assert one_header("X-Tenant-ID", []) is None
    assert one_header("X-Tenant-ID", ["acme"]) == "acme"
    with pytest.raises(TenantryError) as refused:
        one_header("X-Tenant-ID", ["acme", "globex"])
    assert (refused.value.kind, refused.value.code) == (ErrorKind.INVALID, "auth.header_ambiguous")


@pytest.mark.parametrize("named", [None, "acme"])
def test_a_named_tenant_that_is_the_selected_one_agrees(named: str | None) -> None:
    agree(ids.TenantId("acme"), named)


@pytest.mark.parametrize(
    ("named", "code"), [("globex", "auth.tenant_mismatch"), ("ACME", "id.invalid")]
)
def test_a_named_tenant_other_than_the_selected_one_is_refused(named: str, code: str) -> None:
    with pytest.raises(TenantryError) as refused:
        agree(ids.TenantId("acme"), named)
    assert refused.value.code == code


TENANTS = st.sampled_from(["acme", "globex", "initech", "umbrella"])
TEAMS = st.none() | st.sampled_from(["support", "sales", "ops"])
ROLES = st.sampled_from([V, M, TA])
GRANTS = st.lists(st.builds(Grant, TENANTS, ROLES, TEAMS), min_size=1, max_size=6)


@given(GRANTS, st.none() | TENANTS, TEAMS)
def test_the_context_never_leaves_the_grants(
    grants: list[Grant], tenant: str | None, team: str | None
) -> None:
    """Whatever the headers, a resolved context is a tenant and team some grant covers, with a
    role no stronger than that grant's."""
    try:
        ctx, role = resolve(_principal(*grants), Selection(tenant, team))
    except TenantryError as refused:
        assert refused.kind in {ErrorKind.FORBIDDEN, ErrorKind.INVALID}
        return
    covering = [
        g
        for g in grants
        if g.tenant_id == ctx.tenant_id and g.team_id in (None, ctx.team_id) and g.role == role
    ]
    assert covering
    if tenant is not None:
        assert ctx.tenant_id == tenant

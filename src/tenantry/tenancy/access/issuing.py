"""What issuing and revoking a token needs besides the registry, made purely: the grant of a
one-grant token, a token id (``jti``) new or from outside, and the view of an issued token."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Final

from tenantry.core.ids import show
from tenantry.tenancy.access import schemas
from tenantry.tenancy.access.errors import InvalidGrant, InvalidTokenId
from tenantry.tenancy.access.schemas import Grant, GrantView, IssuedToken, PrincipalKind, Role
from tenantry.tenancy.access.signing import Claims

JTI_PATTERN: Final = r"^[0-9a-f]{32}$"
_JTI = re.compile(JTI_PATTERN)


def grants_of(
    kind: PrincipalKind, tenant: str | None, team: str | None, role: Role | str | None
) -> tuple[Grant, ...]:
    """The grant of a one-grant token (none for a platform-admin token), checked."""
    if kind is PrincipalKind.VISITOR:
        raise InvalidGrant("visitor credentials are minted per conversation, not issued")
    if kind is PrincipalKind.PLATFORM_ADMIN:
        if tenant is not None or team is not None or role not in (None, Role.PLATFORM_ADMIN):
            raise InvalidGrant("a platform-admin token carries no tenant, team or role")
        return ()
    if tenant is None or role is None:
        raise InvalidGrant("a token needs a tenant and a role")
    return (schemas.checked_grant(tenant, role, team),)


def new_jti() -> str:
    return uuid.uuid4().hex


def checked_jti(value: object) -> str:
    """A token id from outside (a route or command): 32 lowercase hex digits."""
    if not isinstance(value, str) or _JTI.fullmatch(value) is None:
        raise InvalidTokenId(f"invalid token id {show(value)}: it is 32 lowercase hex digits")
    return value


def issued_view(token: str, claims: Claims, kid: str) -> IssuedToken:
    return IssuedToken(
        token=token,
        principal=claims.subject,
        kind=claims.kind,
        grants=[GrantView.of(g) for g in claims.grants],
        jti=claims.jti,
        kid=kid,
        issued_at=datetime.fromtimestamp(claims.issued_at, UTC),
        expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
    )

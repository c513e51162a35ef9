"""Who calls, and what they may act for (DESIGN.md section 6)."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from tenantry.core import ids
from tenantry.tenancy.access import errors


class Role(enum.StrEnum):
    TENANT_ADMIN = "tenant-admin"
    TEAM_ADMIN = "team-admin"
    TEAM_MEMBER = "team-member"
    VIEWER = "viewer"
    PLATFORM_ADMIN = "platform-admin"
    VISITOR = "visitor"  # a webchat visitor: one conversation, minted per session


class PrincipalKind(enum.StrEnum):
    USER = "user"
    SERVICE = "service"
    PLATFORM_ADMIN = "platform-admin"
    VISITOR = "visitor"  # a visitor credential (``tenancy.access.visitors``)


@dataclass(frozen=True, slots=True)
class Conversation:
    """The one conversation a visitor credential is bound to: its tenant environment's team
    (None: the default team), channel and session, and the user it speaks as."""

    env_id: str
    team_id: str | None
    channel_id: str
    session_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class Grant:
    """A role on one tenant, optionally narrowed to one team."""

    tenant_id: str
    role: Role
    team_id: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller: made only by the access service from a valid token or API key."""

    id: str
    kind: PrincipalKind
    grants: tuple[Grant, ...]
    credential_id: str  # the token's jti or the API key's id (for audit and revocation)
    expires_at: int | None = None  # a token's exp (epoch seconds); None for keys and admin token
    conversation: Conversation | None = None  # a visitor's, and only a visitor's


# Principal ids come from operators (``--principal alice@example.com``) and from API keys
# (``apikey:<id>``): printable ASCII without spaces, so they are safe in logs and audit rows.
_PRINCIPAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}")
_KEY_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9])?")

# The principals Tenantry itself names: audit records show them as actors, so no token may be
# issued for one. ``cli:<user>`` subjects are the CLI's: only the operator issues them.
BUILTIN_PRINCIPALS: Final = frozenset({"admin-token", "operator"})
BUILTIN_PREFIXES: Final = ("apikey:",)
CLI_PREFIX: Final = "cli:"

# Most privileged first: when several grants apply to one tenant and team, the first wins.
RANK: tuple[Role, ...] = (
    Role.PLATFORM_ADMIN,
    Role.TENANT_ADMIN,
    Role.TEAM_ADMIN,
    Role.TEAM_MEMBER,
    Role.VIEWER,
    Role.VISITOR,
)
# Roles a token or API key may be granted; a visitor's role comes only with its conversation.
GRANT_ROLES = frozenset(RANK) - {Role.PLATFORM_ADMIN, Role.VISITOR}
_ROLE_VALUES = frozenset(r.value for r in Role)


def principal_id(value: object) -> str:
    """Return ``value`` if it is a valid principal id; raise :class:`InvalidPrincipal`."""
    if not isinstance(value, str) or _PRINCIPAL_ID.fullmatch(value) is None:
        raise errors.InvalidPrincipal(
            f"invalid principal id {ids.show(value)}: use 1 to 128 ASCII letters, digits and "
            "'.', '_', '@', ':', '+', '-', starting with a letter or digit"
        )
    return value


def token_subject(value: object, *, cli: bool = False) -> str:
    """A principal id a token may be issued for: never a built-in principal's (compared
    without case, as a reader of an audit record would); a ``cli:`` subject only when ``cli``."""
    subject = principal_id(value)
    if builtin_subject(subject) or (not cli and subject.casefold().startswith(CLI_PREFIX)):
        raise errors.ReservedPrincipal(
            f"principal {subject!r} is reserved: 'admin-token', 'operator', 'apikey:...' name "
            "Tenantry's own principals and 'cli:...' the command line's; choose another id",
            details={"principal": subject},
        )
    return subject


def builtin_subject(subject: str) -> bool:
    """Whether a (verified) subject names a built-in principal no token may carry."""
    folded = subject.casefold()
    return folded in BUILTIN_PRINCIPALS or folded.startswith(BUILTIN_PREFIXES)


MAX_VISITOR_USER: Final = 128
_VISITOR_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}")


def visitor_user(value: object) -> str:
    """The user a visitor speaks as (in the envelopes it sends): a principal id's alphabet."""
    if not isinstance(value, str) or _VISITOR_USER.fullmatch(value) is None:
        raise errors.InvalidPrincipal(
            f"invalid visitor user id {ids.show(value)}: use 1 to 128 ASCII letters, digits and "
            "'.', '_', '@', ':', '+', '-', starting with a letter or digit"
        )
    return value


def key_name(value: object) -> str:
    if not isinstance(value, str) or _KEY_NAME.fullmatch(value) is None:
        raise errors.InvalidKeyName(
            f"invalid API key name {ids.show(value)}: use 1 to 64 ASCII letters, digits, "
            "spaces, '.', '_' or '-', starting and ending with a letter or digit"
        )
    return value


def parse_role(value: object) -> Role:
    """A role by its value (``team-member``); anything else is :class:`InvalidGrant`."""
    if isinstance(value, Role):
        return value
    if isinstance(value, str) and value in _ROLE_VALUES:
        return Role(value)
    known = ", ".join(r.value for r in Role)
    raise errors.InvalidGrant(f"unknown role {ids.show(value)}: use one of {known}")


def checked_grant(tenant: object, role: object, team: object = None) -> Grant:
    """A validated grant: ids checked, a real tenant role, tenant-admin never team-scoped."""
    checked = parse_role(role)
    if checked is Role.VISITOR:
        raise errors.InvalidGrant(
            "visitor credentials are minted per conversation: "
            "POST /api/v1/channels/{channel_id}/visitors"
        )
    if checked not in GRANT_ROLES:
        raise errors.InvalidGrant("platform-admin is not a tenant role; issue a platform token")
    if checked is Role.TENANT_ADMIN and team is not None:
        raise errors.InvalidGrant("tenant-admin acts for the whole tenant; give no team")
    return Grant(ids.tenant_id(tenant), checked, None if team is None else ids.team_id(team))


def strongest(roles: Iterable[Role]) -> Role:
    return min(roles, key=RANK.index)


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class GrantView(View):
    tenant: str
    team: str | None
    role: Role

    @classmethod
    def of(cls, given: Grant) -> GrantView:
        return cls(tenant=given.tenant_id, team=given.team_id, role=given.role)


class IssuedToken(View):
    """A signed token and what it says (the token itself is shown once, never stored)."""

    token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    principal: str
    kind: PrincipalKind
    grants: list[GrantView]
    jti: str
    kid: str
    issued_at: datetime
    expires_at: datetime


class ApiKeyInfo(View):
    """An API key's metadata (never its secret)."""

    id: str
    tenant: str
    team: str | None
    role: Role
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class CreatedApiKey(View):
    """A new API key: ``secret`` is shown here once and is not recoverable."""

    key: ApiKeyInfo
    secret: str


class AuditRecord(View):
    id: int
    ts: datetime
    actor: str
    action: str
    tenant: str | None
    outcome: str
    correlation_id: str | None
    details: dict[str, Any]

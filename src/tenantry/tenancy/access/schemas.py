"""Who calls, and what they may act for (DESIGN.md section 6)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    TENANT_ADMIN = "tenant-admin"
    TEAM_ADMIN = "team-admin"
    TEAM_MEMBER = "team-member"
    VIEWER = "viewer"
    PLATFORM_ADMIN = "platform-admin"


class PrincipalKind(enum.StrEnum):
    USER = "user"
    SERVICE = "service"
    PLATFORM_ADMIN = "platform-admin"


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

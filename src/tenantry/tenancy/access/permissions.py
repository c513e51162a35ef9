"""What each role may do: one pure table (DESIGN.md section 6)."""

from __future__ import annotations

import enum

from tenantry.tenancy.access.errors import RoleForbidden
from tenantry.tenancy.access.schemas import Role


class Action(enum.StrEnum):
    READ = "read"  # sessions, state, objects, search, secret names, usage
    WRITE = "write"  # sessions, state, objects, search documents
    SECRETS_READ = "secrets.read"  # secret values
    SECRETS_WRITE = "secrets.write"  # put, rotate, delete
    ADMIN = "admin"  # tokens and API keys for the tenant
    MINT_VISITORS = "visitors.mint"  # visitor credentials of the team's webchat conversations
    CONVERSE = "converse"  # post to and read one webchat conversation (a visitor's only right)


_ALLOWED: dict[Role, frozenset[Action]] = {
    Role.VISITOR: frozenset({Action.CONVERSE}),
    Role.VIEWER: frozenset({Action.READ}),
    Role.TEAM_MEMBER: frozenset({Action.READ, Action.WRITE}),
    Role.TEAM_ADMIN: frozenset(
        {
            Action.READ,
            Action.WRITE,
            Action.SECRETS_READ,
            Action.SECRETS_WRITE,
            Action.MINT_VISITORS,
            Action.CONVERSE,
        }
    ),
    Role.TENANT_ADMIN: frozenset(Action),
    Role.PLATFORM_ADMIN: frozenset(Action),
}


def allows(role: Role, action: Action) -> bool:
    return action in _ALLOWED[role]


def require(role: Role, action: Action, *, tenant: str) -> None:
    """Refuse with 403 ``auth.role_forbidden`` unless ``role`` may do ``action``."""
    if not allows(role, action):
        raise RoleForbidden(
            f"role {role.value} may not {action.value} in tenant {tenant!r}",
            details={"role": role.value, "action": action.value},
        )

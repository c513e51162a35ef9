"""The audit records access writes, built purely (the repository appends them).

What is recorded: a refused cross-tenant or cross-team attempt (``denied``, on the tenant that
was asked for), every platform-admin act on a tenant (``allowed``), and every change to access
itself (``succeeded``: a token issued or revoked, an API key created or revoked, a signing key
rotated or retired). Details never hold a credential, only its id (a token's ``jti``, a key's id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from tenantry.core.context import TenantCtx
from tenantry.core.errors import TenantryError
from tenantry.tenancy.access.resolution import Selection
from tenantry.tenancy.access.schemas import IssuedToken, Principal
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome

ANONYMOUS: Final = "anonymous"  # the actor of a request without a valid credential
ACTION_CHARS: Final = 128  # the audit column's width


def refused(
    principal: Principal,
    error: TenantryError,
    selection: Selection,
    action: str,
    correlation_id: str | None,
) -> AuditEntry:
    """A refused attempt, on the tenant asked for (or the credential's only tenant)."""
    granted = sorted({g.tenant_id for g in principal.grants})
    target = selection.tenant or (granted[0] if len(granted) == 1 else None)
    details = {
        "reason": error.code,
        "credential": principal.credential_id,
        "selected_tenant": selection.tenant,
        "selected_team": selection.team,
        "granted_tenants": granted,
    }
    return AuditEntry(
        principal.id,
        action,
        target,
        Outcome.DENIED,
        correlation_id,
        details,
        credential_id=principal.credential_id,
    )


def bad_credential(
    error: TenantryError, address: str, action: str, correlation_id: str | None
) -> AuditEntry:
    """A request refused for its credential (never shown), by the client address it came from."""
    details = {"reason": error.code, "client_address": address}
    return AuditEntry(
        ANONYMOUS, action[:ACTION_CHARS], None, Outcome.DENIED, correlation_id, details
    )


def admin_act(principal: Principal, ctx: TenantCtx, action: str) -> AuditEntry:
    details = {"credential": principal.credential_id, "env": ctx.env_id, "team": ctx.team_id}
    return AuditEntry(
        principal.id,
        action,
        ctx.tenant_id,
        Outcome.ALLOWED,
        ctx.correlation_id,
        details,
        env_id=ctx.env_id,
        team_id=ctx.team_id,
        credential_id=principal.credential_id,
    )


def changed(
    actor: str,
    action: str,
    tenant: str | None,
    details: Mapping[str, Any],
    correlation_id: str | None = None,
    *,
    target: str | None = None,
    team: str | None = None,
) -> AuditEntry:
    """A change to access; ``target`` is the credential changed (a token's jti, a key's id)."""
    return AuditEntry(
        actor,
        action,
        tenant,
        Outcome.SUCCEEDED,
        correlation_id,
        details,
        team_id=team,
        target=target,
    )


def key_changed(actor: str, action: str, kid: str) -> AuditEntry:
    """A platform signing key rotated in or retired."""
    return changed(actor, action, None, {"kid": kid}, target=kid)


def issued(token: IssuedToken, actor: str, correlation_id: str | None) -> list[AuditEntry]:
    """One record per tenant the token grants (one without a tenant for a platform token)."""
    details = {
        "principal": token.principal,
        "kind": token.kind.value,
        "jti": token.jti,
        "expires_at": token.expires_at.isoformat(),
    }
    if not token.grants:
        return [changed(actor, "token.issue", None, details, correlation_id, target=token.jti)]
    return [
        changed(
            actor,
            "token.issue",
            grant.tenant,
            {**details, "team": grant.team, "role": grant.role.value},
            correlation_id,
            target=token.jti,
            team=grant.team,
        )
        for grant in token.grants
    ]


def revoked(
    jti: str, actor: str, tenants: Sequence[str | None], correlation_id: str | None
) -> list[AuditEntry]:
    """One record per tenant the revoked token granted (one without a tenant for a platform
    token)."""
    return [
        changed(actor, "token.revoke", tenant, {"jti": jti}, correlation_id, target=jti)
        for tenant in dict.fromkeys(tenants)
    ]

"""Access use cases: tokens, credentials, tenant resolution (refusals audited), API keys,
signing keys, visitors: the control plane's one door for access (docs/access.md)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Final

from tenantry.core import ids
from tenantry.core.clock import Clock, utc_now
from tenantry.tenancy.access import (
    apikeys,
    audit,
    issuing,
    lifetimes,
    resolution,
    schemas,
    signing,
    standing,
)
from tenantry.tenancy.access.errors import (
    ApiKeyNotFound,
    EnvMismatch,
    InvalidGrant,
    InvalidToken,
    MissingToken,
    PlatformAdminRequired,
    RevokedKey,
    RevokedToken,
    TeamMismatch,
    TenantMismatch,
    TokenNotFound,
)
from tenantry.tenancy.access.permissions import Action, require
from tenantry.tenancy.access.refusals import DEFAULT_WINDOW, RefusalAudit
from tenantry.tenancy.access.repository import AccessRepository
from tenantry.tenancy.access.resolution import NOTHING_SELECTED, Resolved, Selection
from tenantry.tenancy.access.revocations import RevokedTokens
from tenantry.tenancy.access.schemas import (
    ApiKeyInfo,
    AuditRecord,
    CreatedApiKey,
    Grant,
    IssuedToken,
    Principal,
    PrincipalKind,
    Role,
)
from tenantry.tenancy.access.signing import Claims, SigningKeys
from tenantry.tenancy.access.visitors import Visitors
from tenantry.tenancy.audit.schemas import AuditEntry
from tenantry.tenancy.deployment import MULTI_TENANT, Deployment
from tenantry.tenancy.limits.catalog import LimitsCatalog
from tenantry.tenancy.limits.ports import LimitsSource
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import TenantNotFound

DEFAULT_TTL: Final = lifetimes.DEFAULT_TTL
LEEWAY: Final = timedelta(seconds=30)  # clock skew between issuing and verifying hosts
OPERATOR: Final = "operator"  # the actor of CLI acts (a local operator of the deployment)
ADMIN_TOKEN_PRINCIPAL: Final = Principal(
    "admin-token", PrincipalKind.PLATFORM_ADMIN, (), "admin-token"
)


class AccessService:
    def __init__(
        self,
        sessions: SessionFactory,
        keys: SigningKeys,
        *,
        admin_token: str | None = None,
        clock: Clock = utc_now,
        leeway: timedelta = LEEWAY,
        limits: LimitsSource | None = None,
        refusal_window: timedelta = DEFAULT_WINDOW,
        deployment: Deployment = MULTI_TENANT,
    ) -> None:
        self._records = AccessRepository(sessions)
        self._deployment = deployment
        self.refusals = RefusalAudit(self._audit_all, clock=clock, window=refusal_window)
        self._keys = keys
        self._tokens = signing.VerifiedTokens(keys)
        self._admin_token = admin_token.encode() if admin_token else None
        self._clock, self._leeway = clock, leeway
        self._limits = limits if limits is not None else LimitsCatalog(sessions)
        self._revoked = RevokedTokens(self._records.revocations_after)
        self.visitors = Visitors(self._records, keys, self._limits, clock=clock, leeway=leeway)

    # -- tokens -----------------------------------------------------------------------------

    async def issue_token(
        self,
        principal_id: str,
        *,
        tenant: str | None = None,
        team: str | None = None,
        role: Role | str | None = None,
        ttl: timedelta | None = None,
        kind: PrincipalKind = PrincipalKind.USER,
        actor: str = OPERATOR,
        correlation_id: str | None = None,
    ) -> IssuedToken:
        """A token for one grant (``tenant``, ``team``, ``role``), or a platform-admin token
        (``kind=PLATFORM_ADMIN``, no tenant, no team, no role or ``platform-admin``)."""
        grants = issuing.grants_of(kind, tenant, team, role)
        return await self.issue_grants(
            principal_id, grants, ttl=ttl, kind=kind, actor=actor, correlation_id=correlation_id
        )

    async def issue_grants(
        self,
        principal_id: str,
        grants: Sequence[Grant],
        *,
        ttl: timedelta | None = None,
        kind: PrincipalKind = PrincipalKind.USER,
        actor: str = OPERATOR,
        correlation_id: str | None = None,
        not_after: int | None = None,
    ) -> IssuedToken:
        """A token carrying ``grants`` (several tenants or teams), each checked in the registry,
        living ``ttl`` (:mod:`~tenantry.tenancy.access.lifetimes`: default 1 h, never longer
        than a granted tenant's ``max_token_ttl`` nor, when given, than ``not_after``)."""
        subject = schemas.token_subject(principal_id, cli=True)
        checked = tuple(schemas.checked_grant(g.tenant_id, g.role, g.team_id) for g in grants)
        if (kind is PrincipalKind.PLATFORM_ADMIN) == bool(checked):
            raise InvalidGrant("platform-admin tokens carry no grants; other tokens need one")
        if len(checked) > signing.MAX_GRANTS:
            raise InvalidGrant(f"a token carries at most {signing.MAX_GRANTS} grants")
        for grant in checked:
            await self.check_open(grant.tenant_id, team=grant.team_id)
        now = int(self._clock().timestamp())
        tenants = [g.tenant_id for g in checked]
        caps = await lifetimes.caps(self._limits, tenants, now=now, not_after=not_after)
        expires = now + lifetimes.lifetime(ttl, caps)
        claims = Claims(subject, kind, checked, now, expires, issuing.new_jti())
        key = self._keys.active()
        issued = issuing.issued_view(signing.sign(claims, key), claims, key.kid)
        await self._records.add_token(
            claims.jti,
            list(dict.fromkeys(tenants)) or [None],
            issued.expires_at,
            audit.issued(issued, actor, correlation_id),
            now=self._clock(),
            forget_before=self._clock() - 2 * self._leeway,
        )
        return issued

    async def issue_token_as(
        self,
        actor: Principal,
        principal_id: str,
        *,
        tenant: str | None,
        team: str | None,
        role: Role,
        ttl: timedelta | None = None,
        kind: PrincipalKind = PrincipalKind.USER,
        selection: Selection = NOTHING_SELECTED,
        correlation_id: str | None = None,
        action: str = "token.issue",
        admit: Callable[[str], Awaitable[None]] | None = None,
    ) -> IssuedToken:
        """:meth:`issue_token` on behalf of ``actor``: a platform admin issues any token; a
        tenant admin issues tokens of its own tenant only (never a platform-admin token).

        ``selection`` is what the request's headers select, checked as on every tenant route
        (:meth:`resolve`: a tenant or team the actor may not act for is 403 and audited, a
        platform admin's act is audited); it must agree with ``tenant`` when both name one,
        and names the tenant when the body does not. The token lives no longer than the
        actor's own token (an API key or the admin token has no expiry to pass on). ``admit``
        takes the tenant's rate limit once the actor may act for it."""
        schemas.token_subject(principal_id)  # a cli: subject is the command line's only
        if actor.kind is not PrincipalKind.PLATFORM_ADMIN and (
            kind is PrincipalKind.PLATFORM_ADMIN or role is Role.PLATFORM_ADMIN
        ):
            raise PlatformAdminRequired("only a platform admin issues platform-admin tokens")
        tenant = await self._token_tenant(
            actor, selection, tenant, correlation_id=correlation_id, action=action
        )
        if admit is not None and tenant is not None:
            await admit(tenant)  # the tenant's limit, once the actor may act for it
        platform = kind is PrincipalKind.PLATFORM_ADMIN
        return await self.issue_grants(
            principal_id,
            issuing.grants_of(kind, tenant, team, None if platform else role),
            ttl=ttl,
            kind=kind,
            actor=actor.id,
            correlation_id=correlation_id,
            not_after=actor.expires_at,
        )

    async def _token_tenant(
        self,
        actor: Principal,
        selection: Selection,
        named: str | None,
        *,
        correlation_id: str | None,
        action: str,
    ) -> str | None:
        """The tenant of a token ``actor`` issues: ``named`` (the body's) or the one the
        headers select, which must be the same; a tenant admin's own tenant otherwise."""
        unselected = selection.tenant is None and selection.team is None
        if actor.kind is PrincipalKind.PLATFORM_ADMIN and unselected:
            return named  # a platform admin needs no header: the body names the tenant
        wanted = replace(selection, tenant=named) if selection.tenant is None else selection
        found = await self.resolve(actor, wanted, correlation_id=correlation_id, action=action)
        try:
            resolution.agree(found.ctx.tenant_id, named)
        except TenantMismatch as refused:
            asked = replace(selection, tenant=named)
            await self._refused(actor, audit.refused(actor, refused, asked, action, correlation_id))
            raise
        if actor.kind is not PrincipalKind.PLATFORM_ADMIN:
            require(found.role, Action.ADMIN, tenant=found.ctx.tenant_id)
        return found.ctx.tenant_id

    async def revoke_token(
        self,
        jti: str,
        *,
        tenant: str | None = None,
        actor: str = OPERATOR,
        correlation_id: str | None = None,
    ) -> None:
        """Revoke a token by its id: refused in every API process within a second (again is a
        no-op). With ``tenant``, only a token granting that tenant (another tenant's token is
        not found, exactly like a missing one); without, any token (the operator)."""
        token_id = issuing.checked_jti(jti)
        checked = None if tenant is None else ids.tenant_id(tenant)
        now = self._clock()
        expires = await self._records.revoke_token(
            token_id,
            checked,
            lambda tenants: audit.revoked(token_id, actor, tenants, correlation_id),
            actor=actor,
            now=now,
            forget_before=now - 2 * self._leeway,
        )
        if expires is None:
            where = "" if checked is None else f" granting tenant {checked!r}"
            raise TokenNotFound(f"no token {token_id!r}{where}", details={"jti": token_id})
        self._revoked.add(token_id, expires)

    # -- credentials ------------------------------------------------------------------------

    async def authenticate(self, credential: str | None) -> Principal:
        """The principal behind a bearer credential: admin token, API key or signed token."""
        if not credential:
            raise MissingToken
        if self._admin_token is not None and hmac.compare_digest(
            credential.encode(), self._admin_token
        ):
            return ADMIN_TOKEN_PRINCIPAL
        if apikeys.looks_like_key(credential):
            return await self._key_principal(credential)
        now = self._clock()
        claims = self._tokens.verify(credential, now=now, leeway=self._leeway)
        if await self._revoked.revoked(claims.jti, now=now):
            raise RevokedToken
        return claims.principal()

    async def _key_principal(self, credential: str) -> Principal:
        key_id = apikeys.key_id_of(credential)
        stored = None if key_id is None else await self._records.find_key(key_id)
        if stored is None or not apikeys.matches(credential, stored.secret_digest):
            raise InvalidToken
        if stored.info.revoked_at is not None:
            raise RevokedKey
        key = stored.info
        grant = Grant(ids.TenantId(key.tenant), key.role, key.team and ids.TeamId(key.team))
        return Principal(f"apikey:{key.id}", PrincipalKind.SERVICE, (grant,), key.id)

    # -- API keys ---------------------------------------------------------------------------

    async def create_api_key(
        self,
        tenant: str,
        *,
        team: str | None = None,
        role: Role | str,
        name: str,
        actor: str = OPERATOR,
        correlation_id: str | None = None,
    ) -> CreatedApiKey:
        """A new service key for one grant; its secret is in the answer and nowhere else."""
        grant = schemas.checked_grant(tenant, role, team)
        label = schemas.key_name(name)
        await self.check_open(grant.tenant_id, team=grant.team_id)
        new, now = apikeys.generate(), self._clock()
        info = ApiKeyInfo(
            id=new.key_id,
            tenant=grant.tenant_id,
            team=grant.team_id,
            role=grant.role,
            name=label,
            created_at=now,
            created_by=actor,
            revoked_at=None,
        )
        details = {"key_id": info.id, "name": label, "team": info.team, "role": info.role.value}
        entry = audit.changed(
            actor,
            "api_key.create",
            info.tenant,
            details,
            correlation_id,
            target=info.id,
            team=info.team,
        )
        await self._records.add_key(info, new.digest, entry)
        return CreatedApiKey(key=info, secret=new.secret)

    async def list_api_keys(
        self, tenant: str, *, include_revoked: bool = False
    ) -> list[ApiKeyInfo]:
        """The tenant's keys (metadata only), oldest first."""
        checked = ids.tenant_id(tenant)
        if await self._records.standing(checked, None) is None:
            raise TenantNotFound(checked)
        return await self._records.list_keys(checked, include_revoked=include_revoked)

    async def revoke_api_key(
        self,
        tenant: str,
        key_id: str,
        *,
        actor: str = OPERATOR,
        correlation_id: str | None = None,
    ) -> None:
        """Revoke one of the tenant's keys at once (again is a no-op); another tenant's key is
        not found, exactly like a missing one."""
        checked, key = ids.tenant_id(tenant), apikeys.checked_key_id(key_id)
        details = {"key_id": key}
        entry = audit.changed(actor, "api_key.revoke", checked, details, correlation_id, target=key)
        if not await self._records.revoke_key(checked, key, entry, now=self._clock()):
            raise ApiKeyNotFound(
                f"tenant {checked!r} has no API key {key!r}", details={"key_id": key}
            )

    # -- resolution -------------------------------------------------------------------------

    async def resolve(
        self,
        principal: Principal,
        selection: Selection,
        *,
        correlation_id: str | None = None,
        action: str = "access",
    ) -> Resolved:
        """The context and role for ``selection``. A refused cross-tenant or cross-team
        attempt is audited (``denied``), and so is every platform-admin act (``allowed``)."""
        try:
            resolved = resolution.resolve(principal, selection, correlation_id=correlation_id)
        except (TenantMismatch, TeamMismatch, EnvMismatch) as refused:
            entry = audit.refused(principal, refused, selection, action, correlation_id)
            await self._refused(principal, entry)
            raise
        self._deployment.check(resolved.ctx.tenant_id)  # another tenant: as if absent
        if principal.kind is PrincipalKind.PLATFORM_ADMIN:
            await self._audit(audit.admin_act(principal, resolved.ctx, action))
        return resolved

    # -- registry checks and audit ----------------------------------------------------------

    async def check_open(self, tenant: str, *, team: str | None = None) -> None:
        """Refuse unknown, suspended, archived, deleted and deleting tenants, unknown teams,
        and tenants this deployment does not serve."""
        self._deployment.check(ids.tenant_id(tenant))
        found = await self._records.standing(ids.tenant_id(tenant), team)
        refused = standing.refusal(tenant, team, found)
        if refused is not None:
            raise refused

    async def _audit(self, *entries: AuditEntry) -> None:
        await self._records.record(entries, now=self._clock())

    async def _audit_all(self, entries: Sequence[AuditEntry]) -> None:
        await self._records.record(entries, now=self._clock())

    async def _refused(self, principal: Principal, entry: AuditEntry) -> None:
        """Audit a refused attempt: the first of a window at once, the rest in its summary."""
        await self.refusals.refused((principal.credential_id, entry.tenant_id), entry)

    async def aclose(self) -> None:
        """Append the summaries of refusals still counted (the process is stopping)."""
        await self.refusals.flush()

    async def audit_records(
        self, *, tenant: str | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """The newest audit records first, of one tenant or of all."""
        checked = None if tenant is None else ids.tenant_id(tenant)
        return await self._records.records(tenant=checked, limit=max(1, min(limit, 1000)))

    # -- signing keys -----------------------------------------------------------------------

    def signing_key_ids(self) -> list[str]:
        return self._keys.kids()

    async def rotate_signing_key(self, *, actor: str = OPERATOR) -> str:
        kid = self._keys.rotate()
        await self._audit(audit.key_changed(actor, "signing_key.rotate", kid))
        return kid

    async def retire_signing_key(self, kid: str, *, actor: str = OPERATOR) -> None:
        self._keys.retire(kid)
        await self._audit(audit.key_changed(actor, "signing_key.retire", kid))

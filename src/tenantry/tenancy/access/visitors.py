"""Visitor credentials: a short-lived signed token bound to one webchat conversation.

A team admin mints one for a tenant environment's team, channel and session; the token's
``conv`` claim names them, and its one grant is the ``visitor`` role, which allows only
:attr:`~tenantry.tenancy.access.permissions.Action.CONVERSE`. It is recorded and revocable like
any token (``DELETE /api/v1/tokens/{jti}``), and audited when minted.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from tenantry.core.clock import Clock
from tenantry.core.context import TenantCtx
from tenantry.runtime.messaging import webchat
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.access import audit, issuing, lifetimes, signing
from tenantry.tenancy.access.repository import AccessRepository
from tenantry.tenancy.access.schemas import (
    Conversation,
    Grant,
    PrincipalKind,
    Role,
    visitor_user,
)
from tenantry.tenancy.limits.ports import LimitsSource

DEFAULT_TTL: Final = lifetimes.DEFAULT_TTL
MAX_TTL: Final = timedelta(hours=24)  # a visitor's credential never outlives a day


@dataclass(frozen=True, slots=True)
class IssuedVisitor:
    token: str
    jti: str
    principal: str
    conversation: Conversation
    expires_at: datetime


def visitor_id() -> str:
    """A fresh visitor principal id (the user a visitor speaks as, unless one is given)."""
    return f"visitor:{secrets.token_hex(8)}"


class Visitors:
    def __init__(
        self,
        records: AccessRepository,
        keys: signing.SigningKeys,
        limits: LimitsSource,
        *,
        clock: Clock,
        leeway: timedelta,
    ) -> None:
        self._records, self._keys, self._limits = records, keys, limits
        self._clock, self._leeway = clock, leeway

    async def admit(
        self,
        scope: TenantScope,
        channel: str,
        session: str | None,
        *,
        user: str | None = None,
        ttl: timedelta | None = None,
        actor: str,
        not_after: int | None = None,
    ) -> IssuedVisitor:
        """A visitor credential for the channel's session ``session`` of the scope's team (a
        new session when None; another team's, channel's or tenant's is not found)."""
        ctx, subject = scope.ctx, visitor_id()
        speaker = visitor_user(user) if user is not None else subject
        seconds = await self.lifetime(ctx, ttl, not_after=not_after)  # refused before a session
        found = await webchat.conversation(scope, channel, session, user=speaker)
        bound = Conversation(ctx.env_id, ctx.team_id, channel, found.session_id, speaker)
        return await self._mint(ctx, bound, subject, seconds, actor=actor)

    async def lifetime(
        self, ctx: TenantCtx, ttl: timedelta | None, *, not_after: int | None = None
    ) -> int:
        """Seconds a visitor credential lives: ``ttl`` (default 1 h), refused past 24 h, the
        tenant plan's ``max_token_ttl`` or, when given, ``not_after``."""
        now = int(self._clock().timestamp())
        caps = await lifetimes.caps(self._limits, [ctx.tenant_id], now=now, not_after=not_after)
        caps.append(lifetimes.Cap(int(MAX_TTL.total_seconds()), lifetimes.CapKind.PLAN))
        return lifetimes.lifetime(ttl, caps)

    async def _mint(
        self, ctx: TenantCtx, conversation: Conversation, subject: str, seconds: int, *, actor: str
    ) -> IssuedVisitor:
        """A visitor token of ``subject`` for ``conversation`` (checked by the caller: its
        team, channel and session exist), living ``seconds``; recorded and audited."""
        now = int(self._clock().timestamp())
        grant = Grant(ctx.tenant_id, Role.VISITOR, ctx.team_id)
        claims = signing.Claims(
            subject,
            PrincipalKind.VISITOR,
            (grant,),
            now,
            now + seconds,
            issuing.new_jti(),
            conversation=conversation,
        )
        key = self._keys.active()
        issued = issuing.issued_view(signing.sign(claims, key), claims, key.kid)
        details = {
            "principal": subject,
            "jti": claims.jti,
            "expires_at": issued.expires_at.isoformat(),
            "env": conversation.env_id,
            "team": conversation.team_id,
            "channel": conversation.channel_id,
            "session": conversation.session_id,
        }
        entry = dataclasses.replace(
            audit.changed(actor, "visitor.mint", ctx.tenant_id, details, ctx.correlation_id),
            env_id=conversation.env_id,
            team_id=conversation.team_id,
            target=claims.jti,
        )
        await self._records.add_token(
            claims.jti,
            [ctx.tenant_id],
            issued.expires_at,
            [entry],
            now=self._clock(),
            forget_before=self._clock() - 2 * self._leeway,
        )
        expires = datetime.fromtimestamp(claims.expires_at, UTC)
        return IssuedVisitor(issued.token, claims.jti, subject, conversation, expires)
